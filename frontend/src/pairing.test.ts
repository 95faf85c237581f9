import { describe, expect, it } from "vitest";
import {
  codeProblem,
  defaultDeviceName,
  displayCode,
  normaliseCode,
  pairingErrorText,
  qrImageUrl,
  waitText,
} from "./pairing";

const UA = {
  iPhone:
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1",
  iPadDesktop:
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Safari/605.1.15",
  androidPhone:
    "Mozilla/5.0 (Linux; Android 15; Pixel 9) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Mobile Safari/537.36",
  androidTablet: "Mozilla/5.0 (Linux; Android 15; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
  windows: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
  linux: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
  chromebook: "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
};

describe("a pairing code as people type it", () => {
  it("keeps letters and digits, upper-cased, at most 8", () => {
    expect(normaliseCode("abcd-efgh")).toBe("ABCDEFGH");
    expect(normaliseCode(" AbCd  eFgH ")).toBe("ABCDEFGH");
    expect(normaliseCode("ABCD-EFGH-JKLM")).toBe("ABCDEFGH");
    expect(normaliseCode("")).toBe("");
  });

  it("takes the code out of a pasted pairing link", () => {
    expect(normaliseCode("https://obs.example.com/pair?code=WXYZ2345")).toBe("WXYZ2345");
    expect(normaliseCode("https://obs.example.com/pair?x=1&code=wxyz-2345#top")).toBe("WXYZ2345");
  });

  it("shows it the way the computer prints it", () => {
    expect(displayCode("ABCDEFGH")).toBe("ABCD-EFGH");
    expect(displayCode("ABCDE")).toBe("ABCD-E");
    expect(displayCode("ABCD")).toBe("ABCD");
    expect(displayCode(normaliseCode("ABCD-"))).toBe("ABCD"); // backspace over the last letter drops the dash too
  });

  it("says what is wrong before sending it", () => {
    expect(codeProblem("ABCDEFGH")).toBeNull();
    expect(codeProblem("")).toMatch(/Type the code/);
    expect(codeProblem("ABCD")).toMatch(/4 missing/);
    expect(codeProblem("ABCDEFG0")).toMatch(/never contain 0, O, 1 or I/);
    expect(codeProblem("ABCDEFGI")).toMatch(/never contain/);
  });
});

describe("the default device name", () => {
  it("names the kind of device the browser runs on", () => {
    expect(defaultDeviceName(UA.iPhone)).toBe("iPhone");
    expect(defaultDeviceName(UA.iPadDesktop, 5)).toBe("iPad");
    expect(defaultDeviceName(UA.iPadDesktop, 0)).toBe("Mac");
    expect(defaultDeviceName(UA.androidPhone)).toBe("Android phone");
    expect(defaultDeviceName(UA.androidTablet)).toBe("Android tablet");
    expect(defaultDeviceName(UA.windows)).toBe("Windows PC");
    expect(defaultDeviceName(UA.linux)).toBe("Linux computer");
    expect(defaultDeviceName(UA.chromebook)).toBe("Chromebook");
    expect(defaultDeviceName("")).toBe("Browser");
  });
});

describe("why pairing failed", () => {
  it("keeps the server's reason for a used or expired code", () => {
    expect(pairingErrorText(403, "this pairing code was already used; make a new one", null)).toBe(
      "Pairing failed: this pairing code was already used; make a new one.",
    );
    expect(pairingErrorText(400, null, null)).toBe("Pairing failed: the server answered HTTP 400.");
  });

  it("shows how long to wait when rate-limited, and a lost connection", () => {
    expect(pairingErrorText(429, "too many", 250)).toBe(
      "Too many wrong codes were tried from this network. Wait 4 min 10 s, then try again.",
    );
    expect(pairingErrorText(0, null, null)).toMatch(/Cannot reach/);
    expect(waitText(0.2)).toBe("1 s");
    expect(waitText(120)).toBe("2 min");
  });
});

describe("the pairing QR as an image", () => {
  const segno = '<svg width="165" height="165" class="segno"><title>Pairing QR code</title><path d="M4 4.5h7"/></svg>';

  it("gets the SVG namespace and a viewBox, so it renders in <img> and scales", () => {
    const svg = decodeURIComponent(qrImageUrl(segno).replace("data:image/svg+xml;charset=utf-8,", ""));
    expect(svg).toBe(
      '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 165 165" width="165" height="165" class="segno">' +
        '<title>Pairing QR code</title><path d="M4 4.5h7"/></svg>',
    );
  });

  it("leaves a complete SVG as it is", () => {
    const full = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10" width="20" height="20"></svg>';
    expect(decodeURIComponent(qrImageUrl(full).split(",")[1])).toBe(full);
  });
});
