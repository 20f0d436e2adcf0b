"""The rule language: grammar, syntax tree, checker, compiler and formatter."""
