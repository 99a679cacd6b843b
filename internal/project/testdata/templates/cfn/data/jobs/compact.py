print("compacting")
