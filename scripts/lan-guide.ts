/**
 * What `npm start -- --lan` prints for the teacher after its URL line: every address students
 * can open, a QR code of the first for phones, what each browser will say about the
 * self-signed certificate and how to get past it, and the certificate's fingerprint so that a
 * student can check it is the teacher's and not someone else's on the same Wi-Fi.
 */
import qrcode from 'qrcode-terminal';

export interface LanGuideOptions {
  /** The URLs students can open, the first one for the QR code. */
  readonly lanUrls: readonly string[];
  /** This machine's own URL (localhost). */
  readonly localUrl: string;
  /** SHA-256 fingerprint of the certificate (`AB:CD:…`). */
  readonly fingerprint256: string;
  /** Where the certificate is kept. */
  readonly certDir: string;
  /** True when the certificate was made by this start. */
  readonly created: boolean;
}

/** The QR code of `text` as terminal text (half-block characters: 2 rows a line). */
export function qrCode(text: string): string {
  let result = '';
  qrcode.generate(text, { small: true }, (qr) => {
    result = qr;
  });
  return result;
}

/** The guide's lines, joined by `\n`. */
export function lanGuide(options: LanGuideOptions): string {
  const { lanUrls, localUrl, fingerprint256, certDir, created } = options;
  const lines: string[] = [];
  if (lanUrls.length === 0) {
    lines.push(
      'tabchain devnet: no network address found besides loopback: students cannot reach this machine.',
    );
  }
  for (const url of lanUrls) lines.push(`tabchain devnet lan: ${url}`);
  lines.push(`tabchain devnet local: ${localUrl}`);
  const first = lanUrls[0];
  if (first !== undefined) {
    lines.push('', `Students open ${first} (phones: scan this code):`, qrCode(first));
  }
  lines.push(
    '',
    `The certificate is self-signed (${created ? 'made now' : 'the one made before'}, kept in ${certDir}).`,
    'Each student’s browser warns once about it, before the page opens:',
    '  Chrome, Edge:  "Your connection is not private" (NET::ERR_CERT_AUTHORITY_INVALID):',
    '                 click Advanced, then "Proceed to <address> (unsafe)".',
    '  Firefox:       "Warning: Potential Security Risk Ahead":',
    '                 click Advanced…, then "Accept the Risk and Continue".',
    '  Safari (Mac, iPhone, iPad): "This Connection Is Not Private":',
    '                 tap Show Details, then "visit this website", and confirm.',
    'Students can check that the certificate is this one: the browser shows it when the padlock or',
    '"Not secure" label is clicked (Certificate → SHA-256 fingerprint). It must read:',
    `  ${fingerprint256}`,
    'Anything else means another machine is answering: do not proceed.',
  );
  return lines.join('\n');
}
