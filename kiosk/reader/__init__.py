"""Card readers: one adapter per input, each turning what it sees into a :class:`CardRead`.

Readers are thin: they hand the agent raw NDEF bytes or scanned text; decoding and
verifying the credential is :mod:`records.card`'s job, in the agent.
"""
