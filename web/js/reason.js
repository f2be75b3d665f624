// reason.js -- the access-reason prompt shown before person-level detail.
//
// A native modal <dialog> (index.html, #reason-dialog): showModal() makes the
// rest of the page inert, keeps the keyboard inside and closes on Escape. It
// holds one radio button per reason code the server lists (GET /api/v1/me
// "reasons"), translated here; an unknown code is shown as is. Submitting
// without a choice shows an error (role="alert") and moves the focus to the
// first option. On close the focus returns to the control that opened it.
//
// ask() resolves to the chosen code, or null when the user cancels.

import { h, replace, setText } from './dom.js';
import { t, nameOf } from './i18n.js';

/** The label of a reason code in the current language. */
export function reasonLabel(code) {
  const k = `reason.code.${code}`;
  const s = t(k);
  return s === k ? code : s;
}

export class ReasonDialog {
  constructor(dialog) {
    this.dialog = dialog;
    this.form = dialog.querySelector('form');
    this.options = dialog.querySelector('#reason-options');
    this.intro = dialog.querySelector('#reason-intro');
    this.error = dialog.querySelector('#reason-error');
    this.cancelBtn = dialog.querySelector('#reason-cancel');
    this.resolve = null;
    this.opener = null;
    this.form.addEventListener('submit', (e) => {
      e.preventDefault();
      const chosen = this.form.querySelector('input[name="reason"]:checked');
      if (!chosen) {
        replace(this.error, h('p', { class: 'dialog__error', text: t('reason.required') }));
        this.form.querySelector('fieldset').setAttribute('aria-invalid', 'true');
        this.form.querySelector('input[name="reason"]')?.focus();
        return;
      }
      this.finish(chosen.value);
    });
    this.cancelBtn.addEventListener('click', () => this.finish(null));
    // Escape: the browser fires "cancel" and closes the dialog.
    dialog.addEventListener('cancel', (e) => {
      e.preventDefault();
      this.finish(null);
    });
    dialog.addEventListener('close', () => this.finish(null));
  }

  get isOpen() {
    return this.dialog.open;
  }

  /**
   * Opens the prompt for the ward 'ward' (a name object or string) with the
   * reason 'current' preselected (when changing it). Resolves to a code or
   * null.
   */
  ask({ codes, current = null, ward = null, changing = false }) {
    if (this.resolve) this.finish(null);
    this.opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    this.error.replaceChildren();
    this.form.querySelector('fieldset').removeAttribute('aria-invalid');
    setText(this.dialog.querySelector('#reason-title'), t(changing ? 'reason.title_change' : 'reason.title'));
    setText(this.intro, ward ? t('reason.intro_ward', { ward: nameOf(ward) }) : t('reason.intro'));
    replace(
      this.options,
      codes.map((code) => {
        const id = `reason-opt-${code}`;
        return h(
          'div',
          { class: 'choice' },
          h('input', { class: 'choice__input', type: 'radio', name: 'reason', id, value: code, checked: code === current }),
          h('label', { class: 'choice__label', for: id, text: reasonLabel(code) }),
        );
      }),
    );
    return new Promise((resolve) => {
      this.resolve = resolve;
      this.dialog.showModal();
      const first = this.form.querySelector('input[name="reason"]:checked') || this.form.querySelector('input[name="reason"]');
      if (first) first.focus();
    });
  }

  finish(value) {
    const resolve = this.resolve;
    if (!resolve) return;
    this.resolve = null;
    if (this.dialog.open) this.dialog.close();
    const opener = this.opener;
    this.opener = null;
    if (opener && opener.isConnected) opener.focus();
    resolve(value);
  }

  /** Closes the prompt as cancelled (e.g. on sign-out). */
  cancel() {
    this.finish(null);
  }
}
