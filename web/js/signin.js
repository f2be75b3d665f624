// signin.js -- the sign-in screen (index.html, #signin).
//
// A plain form: labelled user name and password fields (autocomplete
// username / current-password, so password managers work), a "show
// password" check box and one submit button. It posts JSON to
// POST /api/v1/session (api.js signIn); the form's own method is POST so that
// a password never lands in a URL even if the script failed.
//
// Accessibility: empty fields get an error text under their label
// (aria-invalid, aria-describedby) and the focus moves to the first one;
// errors from the server (wrong user name or password, too many attempts
// with the wait from Retry-After, an unreachable server) go into a
// role="alert" region, which screen readers announce; a wrong password
// clears the password field and focuses it. While the request runs the form
// is aria-busy and the button says so (it stays focusable rather than
// disabled, so the focus is not lost). Every text follows the language
// switch, including an error already shown.

import { h, setText } from './dom.js';
import { t, apiMessage } from './i18n.js';
import { signIn, ApiError } from './api.js';

export class SigninView {
  /** @param root the #signin section; @param onSignedIn (principal) => Promise */
  constructor(root, onSignedIn) {
    this.root = root;
    this.onSignedIn = onSignedIn;
    this.form = root.querySelector('#signin-form');
    this.user = root.querySelector('#signin-user');
    this.password = root.querySelector('#signin-password');
    this.show = root.querySelector('#signin-show-password');
    this.submitBtn = root.querySelector('#signin-submit');
    this.submitText = root.querySelector('#signin-submit-text');
    this.alert = root.querySelector('#signin-alert');
    this.status = root.querySelector('#signin-status');
    this.heading = root.querySelector('#signin-title');
    this.busy = false;
    this.message = null; // {kind: 'alert'|'status', render: () => string}
    this.fieldErrors = new Map(); // input -> message key
    this.form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.submit();
    });
    this.show.addEventListener('change', () => {
      this.password.type = this.show.checked ? 'text' : 'password';
    });
    for (const input of [this.user, this.password]) {
      input.addEventListener('input', () => {
        if (this.fieldErrors.has(input) && input.value) this.setFieldError(input, null);
      });
    }
  }

  get visible() {
    return !this.root.hidden;
  }

  /**
   * Shows the screen. message: null, or {kind: 'status'|'alert', key} or
   * {kind, error: ApiError}; focus: 'user' (the first field) or 'heading'.
   */
  showScreen({ message = null, focus = 'user' } = {}) {
    this.root.hidden = false;
    this.password.value = '';
    this.show.checked = false;
    this.password.type = 'password';
    this.setFieldError(this.user, null);
    this.setFieldError(this.password, null);
    this.setBusy(false);
    this.setMessage(message);
    this.relabel();
    if (focus === 'heading') this.heading.focus();
    else (this.user.value ? this.password : this.user).focus();
  }

  hideScreen() {
    this.root.hidden = true;
    this.password.value = '';
    this.setMessage(null);
  }

  setBusy(b) {
    this.busy = b;
    this.form.setAttribute('aria-busy', b ? 'true' : 'false');
    this.submitBtn.setAttribute('aria-disabled', b ? 'true' : 'false');
    setText(this.submitText, t(b ? 'signin.submitting' : 'signin.submit'));
  }

  /** message: null | {kind, key, params} | {kind, error} */
  setMessage(message) {
    this.message = message;
    this.alert.replaceChildren();
    this.status.replaceChildren();
    if (!message) return;
    const box = message.kind === 'alert' ? this.alert : this.status;
    // A new node in the live region, so it is announced.
    box.append(h('p', { class: message.kind === 'alert' ? 'signin__error' : 'signin__note', text: this.messageText(message) }));
  }

  messageText(m) {
    if (m.key) return t(m.key, m.params || {});
    const e = m.error;
    if (e instanceof ApiError) {
      if (e.status === 0) return t('error.network');
      const base = apiMessage(e.i18n) || t(e.status === 401 ? 'signin.failed' : 'error.generic');
      if (e.status === 429 && e.retryAfter != null) return `${withStop(base)} ${t('signin.retry_after', { n: e.retryAfter })}`;
      return withStop(base);
    }
    return t('error.generic');
  }

  setFieldError(input, key) {
    const err = this.root.querySelector(`#${input.id}-error`);
    if (key) {
      this.fieldErrors.set(input, key);
      input.setAttribute('aria-invalid', 'true');
      setText(err, t(key));
      err.hidden = false;
    } else {
      this.fieldErrors.delete(input);
      input.removeAttribute('aria-invalid');
      err.textContent = '';
      err.hidden = true;
    }
  }

  /** Re-applies texts that script set (after a language change). */
  relabel() {
    setText(this.submitText, t(this.busy ? 'signin.submitting' : 'signin.submit'));
    for (const [input, key] of this.fieldErrors) setText(this.root.querySelector(`#${input.id}-error`), t(key));
    const p = (this.message && (this.message.kind === 'alert' ? this.alert : this.status).firstElementChild) || null;
    if (p) setText(p, this.messageText(this.message));
  }

  async submit() {
    if (this.busy) return;
    const user = this.user.value.trim();
    const password = this.password.value;
    this.setFieldError(this.user, user ? null : 'signin.user_required');
    this.setFieldError(this.password, password ? null : 'signin.password_required');
    if (!user || !password) {
      this.setMessage({ kind: 'alert', key: 'signin.check_fields' });
      (user ? this.password : this.user).focus();
      return;
    }
    this.setMessage(null);
    this.setBusy(true);
    let principal;
    try {
      principal = await signIn(user, password);
    } catch (e) {
      this.setBusy(false);
      this.setMessage({ kind: 'alert', error: e });
      if (e instanceof ApiError && (e.status === 401 || e.status === 429)) {
        this.password.value = '';
        this.password.focus();
      }
      return;
    }
    this.password.value = '';
    this.setBusy(false);
    await this.onSignedIn(principal);
  }
}

function withStop(s) {
  return /[.!?]$/.test(s) ? s : `${s}.`;
}
