"""Supply-chain checks (SC-01..06): the target's files through well-kept scanners, as findings.

Each module runs one tool and normalises its report; ``files`` decides which files they read
(the profile's paths, with the file variants of switched-on seeded faults laid over them).
"""
