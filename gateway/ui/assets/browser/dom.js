// @ts-check
// DOM helpers for the operator view. It never parses markup from strings: every value goes in as text.
/** @typedef {string | number | boolean | null | undefined} AttrValue */
/** @typedef {Node | string | null | undefined} Child */

/** The page's elements exist from its shell (page-html.ts) on. @param {string} id @returns {HTMLElement} */
export function $(id) {
  return /** @type {HTMLElement} */ (document.getElementById(id));
}

/**
 * An element with attributes (`text` its text, `className` its class; null, undefined and false left out)
 * and children (strings as text).
 * @param {string} tag
 * @param {Record<string, AttrValue> | null} [attrs]
 * @param {Child[]} [children]
 * @returns {HTMLElement}
 */
export function h(tag, attrs, children) {
  const node = document.createElement(tag);
  if (attrs) {
    Object.keys(attrs).forEach(function (key) {
      const value = attrs[key];
      if (value === undefined || value === null || value === false) return;
      if (key === 'text') node.textContent = String(value);
      else if (key === 'className') node.className = String(value);
      else node.setAttribute(key, String(value));
    });
  }
  (children || []).forEach(function (child) {
    if (child === null || child === undefined) return;
    node.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
  });
  return node;
}

/** @param {Node} parent @param {(Node | null | undefined)[]} children */
export function replaceChildren(parent, children) {
  while (parent.firstChild) parent.removeChild(parent.firstChild);
  children.forEach(function (child) {
    if (child) parent.appendChild(child);
  });
}
