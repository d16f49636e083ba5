print("partners")
