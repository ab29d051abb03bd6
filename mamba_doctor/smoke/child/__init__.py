"""The smoke test as run inside the target interpreter: copied there; Python 3.8+, stdlib, torch."""
