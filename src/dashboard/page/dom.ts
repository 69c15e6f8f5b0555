/** What {@link h} accepts as a child: text is always added as text, never parsed as HTML. */
export type Child = Node | string | number | null | undefined | false;

/**
 * Creates an element with attributes and children. Strings become text nodes, so a
 * message body or header can never turn into markup: escaping is structural.
 */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Record<string, string | undefined> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) if (value !== undefined) element.setAttribute(name, value);
  for (const child of children) if (child !== null && child !== undefined && child !== false) element.append(typeof child === 'object' ? child : String(child));
  return element;
}

/** Sets an element's text only when it changed, so numbers update in place without disturbing selection or focus. */
export function setText(element: Element, text: string): void {
  if (element.textContent !== text) element.textContent = text;
}
