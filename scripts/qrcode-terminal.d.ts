// qrcode-terminal 0.12 ships no types (and is CommonJS: a default import); only `generate` is
// used (scripts/lan-guide.ts).
declare module 'qrcode-terminal' {
  const qrcode: {
    generate(text: string, options: { small?: boolean }, done: (qr: string) => void): void;
  };
  export default qrcode;
}
