/**
 * Windowing against the page scroll: a long list is as tall as all its rows, but only the rows in
 * or near the viewport are mounted. Rows have one fixed height, so there is nothing to measure per
 * row and the work of a scroll or a live update is O(visible rows), not O(rows).
 */
import { useCallback, useEffect, useLayoutEffect, useState, type FocusEvent, type RefObject } from "react";

export interface Range {
  start: number;
  end: number;
}

/** Which rows (in display order) are within the viewport, given the list's top in viewport pixels. */
export function visibleRange(listTop: number, viewportHeight: number, count: number, row: number, overscan: number): Range {
  const first = Math.floor(Math.max(0, -listTop) / row);
  const last = Math.ceil(Math.max(0, viewportHeight - listTop) / row);
  return { start: Math.max(0, Math.min(count, first) - overscan), end: Math.min(count, last + overscan) };
}

export interface WindowOptions {
  /** Rows in the whole list. */
  rows: number;
  /** Pixels from one row's top to the next one's; nothing is windowed while it is 0 (not known yet). */
  rowHeight: number;
  /** Rows mounted beyond each edge of the viewport. */
  overscan: number;
  /** Items side by side in one row (a grid); an item's aria-posinset says where it is in the whole list. */
  perRow?: number;
  /** Runs before re-measuring on resize, for lists whose row height or columns come from CSS. */
  onResize?: () => void;
}

export interface Windowed extends Range {
  /** For the list element: keyboard focus landing on an item mounts the rows around it at once, so Tab and
   * Shift+Tab always find the next item mounted, however fast they are pressed. */
  onFocus: (e: FocusEvent<HTMLElement>) => void;
}

/**
 * The rows of the list at `ref` to mount: re-measured after every render that changes the row count or
 * height (layout effect, before paint) and at most once per frame on scroll and resize.
 */
export function useWindow(ref: RefObject<HTMLElement | null>, opts: WindowOptions): Windowed {
  const { rows, rowHeight, overscan, perRow = 1, onResize } = opts;
  const [range, setRange] = useState<Range>(() => ({ start: 0, end: Math.min(rows, 2 * overscan) }));

  const measure = useCallback(() => {
    const el = ref.current;
    if (!el || rowHeight <= 0) return;
    const next = visibleRange(el.getBoundingClientRect().top, innerHeight, rows, rowHeight, overscan);
    setRange((r) => (r.start === next.start && r.end === next.end ? r : next));
  }, [ref, rows, rowHeight, overscan]);

  useLayoutEffect(measure, [measure]);

  useEffect(() => {
    let frame = 0;
    let resized = false;
    const update = () => {
      frame = 0;
      if (resized) onResize?.();
      resized = false;
      measure();
    };
    const onScroll = () => {
      if (!frame) frame = requestAnimationFrame(update);
    };
    const onResized = () => {
      resized = true;
      onScroll();
    };
    addEventListener("scroll", onScroll, { passive: true });
    addEventListener("resize", onResized);
    return () => {
      cancelAnimationFrame(frame);
      removeEventListener("scroll", onScroll);
      removeEventListener("resize", onResized);
    };
  }, [measure, onResize]);

  const onFocus = useCallback(
    (e: FocusEvent<HTMLElement>) => {
      const pos = Number(e.target.closest("[aria-posinset]")?.getAttribute("aria-posinset"));
      if (!pos) return;
      const row = Math.floor((pos - 1) / perRow);
      setRange((r) => {
        const start = Math.max(0, Math.min(r.start, row - overscan));
        const end = Math.min(rows, Math.max(r.end, row + overscan + 1));
        return start === r.start && end === r.end ? r : { start, end };
      });
    },
    [perRow, overscan, rows],
  );

  // A row count that shrank under the current range (filtering, sessions ending) clamps at once.
  const end = Math.min(range.end, rows);
  return { start: Math.min(range.start, end), end, onFocus };
}
