import { pemDigest } from '../format';

/** The cells and colour of an account's identicon: a 5×5 grid mirrored left to right. */
export function identiconCells(pem: string): {
  readonly hue: number;
  readonly cells: readonly (readonly [number, number])[];
} {
  const digest = pemDigest(pem);
  const byte = (i: number) => Number.parseInt(digest.slice(i * 2, i * 2 + 2), 16);
  const hue = ((byte(0) << 8) | byte(1)) % 360;
  const cells: [number, number][] = [];
  for (let row = 0; row < 5; row++) {
    for (let col = 0; col < 3; col++) {
      if (byte(2 + row * 3 + col) % 2 === 0) continue;
      cells.push([col, row]);
      if (col < 2) cells.push([4 - col, row]);
    }
  }
  if (cells.length === 0) cells.push([2, 2]);
  return { hue, cells };
}

/** A small deterministic picture of an account (from SHA-256 of its PEM), decorative only. */
export function Identicon({ pem, size = 20 }: { readonly pem: string; readonly size?: number }) {
  const { hue, cells } = identiconCells(pem);
  return (
    <svg
      className="identicon"
      viewBox="-0.5 -0.5 6 6"
      width={size}
      height={size}
      aria-hidden="true"
      focusable="false"
      shapeRendering="crispEdges"
    >
      {cells.map(([x, y]) => (
        <rect key={`${x}-${y}`} x={x} y={y} width={1} height={1} fill={`hsl(${hue} 62% 48%)`} />
      ))}
    </svg>
  );
}
