"""The Engram skill's v2.5.0 "Enterprise Features" example as tool arguments, one module per step."""
