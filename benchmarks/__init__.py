"""Side-by-side measurements: each benchmark runs optviz and a peer on the same work."""
