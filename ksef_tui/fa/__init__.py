"""FA(3)/FA(2) invoices: build, parse, validate, render, KOD I."""
