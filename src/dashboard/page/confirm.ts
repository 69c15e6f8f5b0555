import { h } from './dom.js';

/** A native modal dialog: focus moves into it, Escape cancels, and focus returns where it was. */
export function createConfirm(): { element: HTMLDialogElement; ask: (title: string, text: string, action: string) => Promise<boolean> } {
  const heading = h('h2', { id: 'confirm-title' });
  const text = h('p', { id: 'confirm-text' });
  const cancel = h('button', { type: 'button' }, 'Cancel');
  const confirm = h('button', { type: 'button', class: 'danger' });
  const element = h('dialog', { 'aria-labelledby': 'confirm-title', 'aria-describedby': 'confirm-text' }, heading, text, h('div', { class: 'dialog-buttons' }, cancel, confirm));
  cancel.addEventListener('click', () => element.close('cancel'));
  confirm.addEventListener('click', () => element.close('confirm'));
  const ask = (title: string, question: string, action: string) =>
    new Promise<boolean>((resolve) => {
      const returnFocus = document.activeElement as HTMLElement | null;
      heading.textContent = title;
      text.textContent = question;
      confirm.textContent = action;
      element.returnValue = 'cancel';
      element.addEventListener(
        'close',
        () => {
          resolve(element.returnValue === 'confirm');
          returnFocus?.focus();
        },
        { once: true },
      );
      element.showModal();
      // The safe choice has the focus: Enter on an unread dialog changes nothing.
      cancel.focus();
    });
  return { element, ask };
}
