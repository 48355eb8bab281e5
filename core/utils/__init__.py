"""Small shared utilities: errors and correlation ids, validators, guards."""
