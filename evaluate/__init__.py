"""septimbre.evaluate"""
