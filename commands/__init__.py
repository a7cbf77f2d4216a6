"""The command implementations behind cli.py (each command's work; cli.py declares the options)."""
