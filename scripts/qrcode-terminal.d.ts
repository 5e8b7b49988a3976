// qrcode-terminal 0.12 ships no types; only `generate` is used (scripts/lan-guide.ts).
declare module 'qrcode-terminal' {
  export function generate(text: string, options: { small?: boolean }, done: (qr: string) => void): void;
}
