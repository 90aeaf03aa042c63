"""Jobs: the contract every kind follows and the one registry of kinds."""
