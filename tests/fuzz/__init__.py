"""srcad's differential fuzzer: random programs (gen), oracles (oracle), a shrinker
(minimise) and the runner (run); README.md says how to run it."""
