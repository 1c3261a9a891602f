"""The corner shop's back office."""
