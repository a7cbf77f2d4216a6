"""The commands other than train, each with its click options (cli.py registers them and declares train's)."""
