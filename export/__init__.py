"""septimbre.export"""
