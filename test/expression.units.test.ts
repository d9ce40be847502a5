import { describe, expect, it } from "@jest/globals";
import {
  parseBytes,
  parseGoDuration,
  parseQuantity,
  parseRfc3339,
  toNumber,
} from "../src/expression/index.js";

describe("parseBytes", () => {
  it.each<[string, number]>([
    ["12.222 MiB", 12815695],
    ["806 B", 806],
    ["7.003 KiB", 7171],
    ["1.500 GiB", 1610612736],
    ["1 ki", 1024],
    ["1ki", 1024],
    ["1 KB", 1000],
    ["1k", 1000],
    ["1K", 1000],
    ["1.1 KiB", 1126],
    ["0.3 MB", 300000],
    ["0.3 MiB", 314572],
    ["1 mb", 1000000],
    ["2 MI", 2097152],
    ["1 GB", 1e9],
    ["1 TiB", 1024 ** 4],
    ["1 PB", 1e15],
    ["1 PiB", 1024 ** 5],
    ["1 EB", 1e18],
    ["1 EiB", 1024 ** 6],
    ["1E", 1e18],
    ["1024", 1024],
    ["1.9", 1],
    ["0", 0],
    ["0 B", 0],
    [".5 KiB", 512],
    ["5. KiB", 5120],
    ["1,024 KiB", 1048576],
    ["1,000,000 B", 1000000],
    ["  42 B  ", 42],
    ["42\tB", 42],
    ["42   B", 42],
    ["0.0009765625 KiB", 1],
    ["0.999999999999999999999 KiB", 1023],
    ["99999999999 EiB", 99999999999 * 1024 ** 6],
  ])("%j → %d", (text, bytes) => {
    expect(parseBytes(text)).toBe(bytes);
  });

  it.each([
    "",
    "   ",
    "B",
    "MiB",
    ".",
    ". B",
    "-1 KiB",
    "+1 KiB",
    "1 XB",
    "1 KiBs",
    "1 K i B",
    "1e3",
    "1e3 B",
    "1,5 MB",
    "12,34 B",
    "NaN",
    "Infinity",
    "1 B 2",
    "0x10",
    "1".repeat(200),
    "1".repeat(400) + " B",
  ])("rejects %j", (text) => {
    expect(parseBytes(text)).toBeUndefined();
  });
});

describe("parseGoDuration", () => {
  it.each<[string, number]>([
    ["1m30.5s", 90.5],
    ["10.089085545s", 10.089085545],
    ["-1.5h", -5400],
    ["+1.5h", 5400],
    ["32s", 32],
    ["0", 0],
    ["-0", 0],
    ["+0", 0],
    ["0s", 0],
    ["-0s", 0],
    ["1h2m3s", 3723],
    ["1h1h", 7200],
    ["300ms", 0.3],
    ["1.5ms", 0.0015],
    ["2us", 0.000002],
    ["2µs", 0.000002],
    ["2μs", 0.000002],
    ["7ns", 7e-9],
    ["1.0000000001s", 1],
    [".5s", 0.5],
    ["5.s", 5],
    ["2562047h", 2562047 * 3600],
    ["2562047h47m16.854775807s", Number(9_223_372_036_854_775_807n) / 1e9],
  ])("%j → %d", (text, seconds) => {
    expect(parseGoDuration(text)).toBe(seconds);
  });

  it.each([
    "",
    "-",
    "+",
    "1",
    "10",
    "00",
    "s",
    ".s",
    "1.2.3s",
    "1d",
    "1S",
    "1 s",
    " 1s",
    "1s ",
    "1m-30s",
    "1e3s",
    "NaN",
    "Infinity",
    "1hh",
    "2562048h",
    "9".repeat(30) + "s",
    "1s".repeat(200),
  ])("rejects %j", (text) => {
    expect(parseGoDuration(text)).toBeUndefined();
  });
});

describe("parseQuantity", () => {
  it.each<[string, number]>([
    ["5Gi", 5368709120],
    ["500m", 0.5],
    ["150m", 0.15],
    ["2", 2],
    ["1.5", 1.5],
    ["100u", 0.0001],
    ["3n", 3e-9],
    ["1k", 1000],
    ["1M", 1e6],
    ["1G", 1e9],
    ["1T", 1e12],
    ["1P", 1e15],
    ["1E", 1e18],
    ["1Ki", 1024],
    ["1.5Ki", 1536],
    ["1Mi", 1048576],
    ["1Ti", 1024 ** 4],
    ["1Pi", 1024 ** 5],
    ["1Ei", 1024 ** 6],
    ["1e3", 1000],
    ["1E3", 1000],
    ["1e-3", 0.001],
    ["1.5e+2", 150],
    ["-1", -1],
    ["+1", 1],
    ["-100m", -0.1],
    ["-0", 0],
    [".5", 0.5],
    ["5.", 5],
    ["0.1", 0.1],
    ["1e308", 1e308],
  ])("%j → %d", (text, value) => {
    expect(parseQuantity(text)).toBe(value);
  });

  it.each([
    "",
    " 1",
    "1 ",
    "1 Gi",
    "1gi",
    "1K",
    "1KI",
    "1mi",
    "1e",
    "1e+",
    "e3",
    "1x",
    "1.2.3",
    ".",
    "--1",
    "1e400",
    "1e99999999999",
    "NaN",
    "Infinity",
    "0x10",
    "1".repeat(200),
  ])("rejects %j", (text) => {
    expect(parseQuantity(text)).toBeUndefined();
  });
});

describe("parseRfc3339", () => {
  it.each<[string, number]>([
    ["1970-01-01T00:00:00Z", 0],
    ["2023-12-14T08:40:01Z", 1702543201],
    ["2023-12-14t08:40:01z", 1702543201],
    ["2023-12-14T10:40:01+02:00", 1702543201],
    ["2023-12-14T03:10:01-05:30", 1702543201],
    ["2023-12-14T08:40:01.5Z", 1702543201.5],
    ["2023-12-14T08:40:01.000000000Z", 1702543201],
    ["2024-02-29T00:00:00Z", Date.UTC(2024, 1, 29) / 1000],
    ["2000-02-29T23:59:59Z", Date.UTC(2000, 1, 29, 23, 59, 59) / 1000],
    ["1969-12-31T23:59:59Z", -1],
    ["0001-01-01T00:00:00Z", -62135596800],
    ["9999-12-31T23:59:59Z", 253402300799],
    ["0000-03-01T00:00:00Z", -62162035200],
  ])("%j → %d", (text, seconds) => {
    expect(parseRfc3339(text)).toBe(seconds);
  });

  it("agrees with Date.parse on a sweep of valid dates", () => {
    for (let ms = Date.UTC(1971, 0, 1); ms < Date.UTC(2100, 0, 1); ms += 86_400_000 * 97 + 3_723_000) {
      const iso = new Date(ms).toISOString().replace(".000Z", "Z");
      expect(parseRfc3339(iso)).toBe(ms / 1000);
    }
  });

  it.each([
    "",
    "2023-12-14",
    "2023-12-14T08:40:01",
    "2023-12-14 08:40:01Z",
    "2023-12-14T08:40Z",
    "2023-13-01T00:00:00Z",
    "2023-00-01T00:00:00Z",
    "2023-02-29T00:00:00Z",
    "1900-02-29T00:00:00Z",
    "2023-04-31T00:00:00Z",
    "2023-01-00T00:00:00Z",
    "2023-01-01T24:00:00Z",
    "2023-01-01T00:60:00Z",
    "2023-01-01T00:00:60Z",
    "2023-01-01T00:00:00+24:00",
    "2023-01-01T00:00:00+01:60",
    "2023-01-01T00:00:00+0100",
    "2023-01-01T00:00:00.Z",
    "2023-01-01T00:00:00.1234567890Z",
    "+2023-01-01T00:00:00Z",
    "23-01-01T00:00:00Z",
    " 2023-01-01T00:00:00Z",
    "2023-01-01T00:00:00Z ",
    "2023-01-01T00:00:00ZZ",
    "NaN",
    "garbage",
  ])("rejects %j", (text) => {
    expect(parseRfc3339(text)).toBeUndefined();
  });
});

describe("toNumber", () => {
  it.each<[unknown, number | undefined]>([
    [3, 3],
    [-0.5, -0.5],
    ["3", 3],
    ["-3.5", -3.5],
    ["+3", 3],
    [".5", 0.5],
    ["5.", 5],
    ["1e3", 1000],
    ["1E-3", 0.001],
    ["007", 7],
    ["", undefined],
    [" 3", undefined],
    ["3 ", undefined],
    ["0x10", undefined],
    ["1_000", undefined],
    ["NaN", undefined],
    ["Infinity", undefined],
    ["-Infinity", undefined],
    ["1e999", undefined],
    ["3m", undefined],
    [".", undefined],
    ["e3", undefined],
    [true, undefined],
    [null, undefined],
    [{}, undefined],
    [[1], undefined],
  ])("%j → %j", (v, n) => {
    expect(toNumber(v)).toBe(n);
  });
});
