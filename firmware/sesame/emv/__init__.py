"""EMV-CAP engine: TLV, PSE, application, GPO, records, VERIFY, GENERATE AC, codes; imports sesame only."""
