"""Vendor vectors: what the suite hands a product it cannot drive, and reads back.

- `export`: test identities and messages from every other profile, with the
  verdict each should get if the product follows its profile;
- `verify`: messages the product wrote, read by the validator and by every
  receiver profile (the product's row of the matrix, without an adapter);
- `manual`: the tester's record of what the product opened, folded into results.json;
- `golden`: the committed corpus that pins each profile's bytes.
"""
