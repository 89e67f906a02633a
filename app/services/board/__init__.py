"""The live board: tiles and the change feed."""
