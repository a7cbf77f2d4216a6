"""Everything that runs a network: model, checkpoint, export, backends, and the backend-agnostic cascade."""
