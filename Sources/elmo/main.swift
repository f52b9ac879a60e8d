print("elmo: not yet")
