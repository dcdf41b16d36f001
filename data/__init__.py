"""septimbre.data"""
