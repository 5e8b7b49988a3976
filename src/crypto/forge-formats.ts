/**
 * The part of node-forge that key *formats* need (base64, ASN.1, OIDs, RSA key structures), for
 * `pem.ts`. `import 'node-forge'` loads every module of the library (TLS, X.509, PKCS#7/#12,
 * ciphers); the page's main chunk carries only these, and the rest comes with the forge provider
 * (`./forge`, loaded on first use). Each module adds itself to the one shared `forge` object.
 */
import type Forge from 'node-forge';
import forge from 'node-forge/lib/forge';
import 'node-forge/lib/util';
import 'node-forge/lib/asn1';
import 'node-forge/lib/oids';
import 'node-forge/lib/rsa';

export default forge as typeof Forge;
