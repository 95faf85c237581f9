/**
 * App icons drawn at build time (no image files in git, no Pillow): a lens ring with an amber
 * "needs you" dot on a dark tile. Emitted into the build by the `icons()` Vite plugin.
 */
import { crc32, deflateSync } from "node:zlib";
import type { Plugin } from "vite";

type RGBA = [number, number, number, number];
const TILE: RGBA = [17, 24, 39, 255];
const RING: RGBA = [56, 189, 248, 255];
const DOT: RGBA = [245, 158, 11, 255];
const WHITE: RGBA = [255, 255, 255, 255];

interface Style {
  tile: "rounded" | "full" | "none";
  scale: number; // glyph size relative to the icon (maskable icons keep it inside the safe zone)
  mono?: boolean;
}

function colourAt(x: number, y: number, st: Style): RGBA | null {
  // x, y in 0..1
  const r = Math.hypot(x - 0.5, y - 0.5) / st.scale;
  if (r <= 0.13) return st.mono ? WHITE : DOT;
  if (r >= 0.3 && r <= 0.4) return st.mono ? WHITE : RING;
  if (st.tile === "none") return null;
  if (st.tile === "rounded") {
    const k = 0.2; // corner radius
    const cx = Math.min(Math.max(x, k), 1 - k);
    const cy = Math.min(Math.max(y, k), 1 - k);
    if (Math.hypot(x - cx, y - cy) > k) return null;
  }
  return TILE;
}

function render(size: number, st: Style): Buffer {
  const SS = 4; // 4×4 supersampling for smooth edges
  const rows: Buffer[] = [];
  for (let py = 0; py < size; py++) {
    const row = Buffer.alloc(1 + size * 4); // filter byte 0 + RGBA
    for (let px = 0; px < size; px++) {
      let r = 0, g = 0, b = 0, a = 0;
      for (let sy = 0; sy < SS; sy++)
        for (let sx = 0; sx < SS; sx++) {
          const c = colourAt((px + (sx + 0.5) / SS) / size, (py + (sy + 0.5) / SS) / size, st);
          if (!c) continue;
          r += c[0] * c[3]; g += c[1] * c[3]; b += c[2] * c[3]; a += c[3];
        }
      const o = 1 + px * 4;
      if (a > 0) row.set([Math.round(r / a), Math.round(g / a), Math.round(b / a)], o);
      row[o + 3] = Math.round(a / (SS * SS));
    }
    rows.push(row);
  }
  return png(size, Buffer.concat(rows));
}

function png(size: number, raw: Buffer): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const td = Buffer.concat([Buffer.from(type, "ascii"), data]);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr.set([8, 6, 0, 0, 0], 8); // 8-bit RGBA
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(raw, { level: 9 })),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

export const ICONS: Record<string, () => Buffer> = {
  "icons/icon-192.png": () => render(192, { tile: "rounded", scale: 1 }),
  "icons/icon-512.png": () => render(512, { tile: "rounded", scale: 1 }),
  "icons/icon-maskable-512.png": () => render(512, { tile: "full", scale: 0.8 }),
  "icons/apple-touch-icon.png": () => render(180, { tile: "full", scale: 0.9 }),
  "icons/badge-96.png": () => render(96, { tile: "none", scale: 1.2, mono: true }),
  "favicon.png": () => render(48, { tile: "rounded", scale: 1 }),
};

export function icons(): Plugin {
  return {
    name: "observatory-icons",
    apply: "build",
    generateBundle() {
      for (const [fileName, draw] of Object.entries(ICONS)) this.emitFile({ type: "asset", fileName, source: draw() });
    },
  };
}
