// node-forge's modules one by one (`node-forge/lib/NAME`), untyped by @types/node-forge: the
// shared object they extend is typed where it is re-exported (forge-formats.ts).
declare module 'node-forge/lib/forge' {
  const forge: unknown;
  export default forge;
}
declare module 'node-forge/lib/*';
