// Jest setup provided by Grafana scaffolding
import './.config/jest-setup';
import { configure } from '@testing-library/react';

// findBy*/waitFor give up after 1 s by default, which a busy machine can exceed while the
// editor re-renders; they assert that something appears, not how fast (a hang guard only).
configure({ asyncUtilTimeout: 120000 });

// jsdom has no canvas and no layout. @grafana/ui's Combobox measures option text on a canvas and
// virtualises its menu by element size: give it a text measure and a non-zero box, as Grafana's
// own Combobox tests do, so its options render and can be clicked.
HTMLCanvasElement.prototype.getContext = () => ({
  measureText: (text) => ({ width: String(text).length * 8 }),
});
Object.defineProperty(Element.prototype, 'getBoundingClientRect', {
  configurable: true,
  value: () => ({ width: 120, height: 120, top: 0, left: 0, bottom: 0, right: 0, x: 0, y: 0, toJSON: () => ({}) }),
});
// The menu's scroll indicators watch its ends with an IntersectionObserver, which jsdom lacks.
class NoIntersectionObserver {
  observe() {}
  unobserve() {}
  disconnect() {}
  takeRecords() {
    return [];
  }
}
Object.assign(global, { IntersectionObserver: NoIntersectionObserver });
// The menu's virtual list (@tanstack/virtual-core) sizes itself from its scroll element's client
// size and its rows' offset size.
Object.defineProperties(HTMLElement.prototype, {
  clientHeight: { configurable: true, get: () => 240 },
  clientWidth: { configurable: true, get: () => 120 },
  offsetHeight: { configurable: true, get: () => 24 },
  offsetWidth: { configurable: true, get: () => 120 },
});
