"""septimbre.model"""
