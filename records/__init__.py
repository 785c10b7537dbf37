"""The pure shared core of LearnCard: the signed record, its chain, the card credential,
the county's signed documents and the study-hour rules.

Pure means: no I/O, no clock reads, no Kivy/paho/nfcpy/sqlite. Time, keys and random
bytes are arguments. The error tree is in :mod:`records.errors`.
"""
