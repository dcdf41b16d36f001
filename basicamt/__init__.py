"""septimbre.basicamt"""
