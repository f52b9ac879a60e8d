print("elmo-bench: not yet")
