// Validate an HDF exec-JSON file with the parser inspecjs generates from its JSON schemas.
// Usage: node hdf_validate.js FILE   (inspecjs on NODE_PATH). Prints "valid" or "invalid: why".
'use strict';
const fs = require('fs');
const { Convert } = require('inspecjs/lib/generated_parsers/v_1_0/exec-json');

try {
  Convert.toExecJSON(fs.readFileSync(process.argv[2], 'utf8'));
  console.log('valid');
} catch (error) {
  console.log('invalid: ' + error.message);
  process.exit(1);
}
