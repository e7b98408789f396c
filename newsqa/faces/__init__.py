"""The ways people and programs reach the library; none holds logic the library lacks.

cli.py         the newsqa command (click); render.py its terminal output (rich)
session.py     conversations about one article, for chatbots
tools.py       chatbot tool definitions from the schemas, and a dispatcher
mcp_server.py  newsqa mcp: the same tools over the Model Context Protocol
"""
