"""The thick client's windows: login, main window with menus and case view, search and basis dialogs.

Looks like a Windows 2000-era client (grey 3D widgets, a navy caption band, a sunken status
bar). Keyboard first: Alt-letter menus, Ctrl+F search, Ctrl+B new decision basis, Ctrl+S save,
F5 refresh, Esc closes a dialog; every dialog has a fixed tab order.
"""

from __future__ import annotations

import time
import tkinter as tk
from tkinter import ttk
from typing import Any

from simulators.casemgmt_desktop.faults import HANG_SECONDS, Faults
from simulators.casemgmt_desktop.server import Server, ServerError
from simulators.casemgmt_desktop.state import HEARTBEAT_MS, StatePublisher

TITLE = "Verksamhetssystem IFO – Ekonomiskt bistånd"
GREY = "#d4d0c8"
NAVY = "#0a246a"
FONT = ("DejaVu Sans", 9)
BOLD = ("DejaVu Sans", 9, "bold")
MONO = ("DejaVu Sans Mono", 9)
PROPOSALS = {"approve": "Bevilja", "reject": "Avslå", "manual_review": "Manuell handläggning"}
DECISIONS = {"approve": "Bevilja", "reject": "Avslå"}
SAVED = "Beslutsunderlag sparat"


def kr(amount: int) -> str:
    return f"{amount:,}".replace(",", " ") + " kr"


class DesktopClient:
    """One client window tree. `server` talks HTTP; `publisher` exposes the widget state."""

    def __init__(self, server: Server, publisher: StatePublisher, faults: Faults | None = None) -> None:
        self.server = server
        self.publisher = publisher
        self.faults = faults or Faults({})
        self.root = tk.Tk(className="Verksamhetssystem")
        self.root.title(TITLE)
        self.root.geometry("1180x780+0+0")
        self.root.configure(background=GREY)
        self.root.option_add("*Font", FONT)
        self.root.option_add("*Background", GREY)
        self.root.option_add("*selectBackground", NAVY)
        style = ttk.Style(self.root)
        style.theme_use("default")
        style.configure(".", background=GREY, font=FONT)
        style.configure("Treeview", background="white", fieldbackground="white", rowheight=18)
        style.configure("Treeview.Heading", relief="raised", font=BOLD)
        style.map("Treeview", background=[("selected", NAVY)], foreground=[("selected", "white")])
        self.case: dict[str, Any] | None = None
        self.dialogs: dict[str, tk.Toplevel] = {}
        self.dialog_error = ""
        self.status = tk.StringVar(value="Ej inloggad")
        self._publish_pending = False
        self._build_main()
        self.root.withdraw()
        self.root.bind_all("<FocusIn>", lambda _e: self.request_publish(), add="+")
        self.root.bind_all("<KeyRelease>", lambda _e: self.request_publish(), add="+")
        self._heartbeat()
        self.open_login()

    # -- accessible state ------------------------------------------------------------------

    def request_publish(self) -> None:
        if not self._publish_pending:
            self._publish_pending = True
            self.root.after_idle(self.publish)

    def _heartbeat(self) -> None:
        self.publish()
        self.root.after(HEARTBEAT_MS, self._heartbeat)

    def _focus_name(self) -> str:
        try:
            widget = self.root.focus_get()
        except (KeyError, tk.TclError):
            return ""
        return str(widget).rsplit(".", 1)[-1] if widget is not None else ""

    def active_window(self) -> str:
        """The topmost open dialog, else the main window (or nothing before login)."""
        for name in ("message", "basis", "search", "login"):
            if name in self.dialogs:
                return name
        return "main" if self.server.user else ""

    def publish(self) -> None:
        self._publish_pending = False
        state: dict[str, Any] = {
            "windows": [{"name": name, "title": d.title()} for name, d in self.dialogs.items()],
            "active": self.active_window(),
            "title": self.root.title(),
            "focus": self._focus_name(),
            "status": self.status.get(),
            "user": self.server.user,
            "dialog_error": self.dialog_error,
            "case": None,
            "basis_form": None,
        }
        if self.case is not None:
            state["case"] = {
                "case_number": self.case["case_number"],
                "decision_bases": [
                    dict(zip(("nr", "application_id", "period", "proposal", "amount", "client"),
                             self.bases_list.item(item, "values")[:6], strict=True))
                    for item in self.bases_list.get_children()
                ],
            }
        if "basis" in self.dialogs:
            state["basis_form"] = {
                "ansokan": self.basis_fields["ansokan"].get(), "period": self.basis_fields["period"].get(),
                "forslag": self.basis_fields["forslag"].get(), "belopp": self.basis_fields["belopp"].get(),
                "noteringar": self.basis_fields["noteringar"].get(),
                "underlag_chars": len(self.report_box.get("1.0", "end-1c")),
            }
        self.publisher.publish(state)

    def set_status(self, text: str) -> None:
        self.status.set(text)
        self.request_publish()

    # -- main window --------------------------------------------------------------------------

    def _build_main(self) -> None:
        root = self.root
        menubar = tk.Menu(root, name="menubar", relief="raised")
        arkiv = tk.Menu(menubar, tearoff=False)
        arkiv.add_command(label="Logga ut", underline=6, command=self.log_out)
        arkiv.add_separator()
        arkiv.add_command(label="Avsluta", underline=0, accelerator="Ctrl+Q", command=self.quit)
        menubar.add_cascade(label="Arkiv", underline=0, menu=arkiv)
        arende = tk.Menu(menubar, tearoff=False)
        arende.add_command(label="Sök ärende…", underline=0, accelerator="Ctrl+F", command=self.open_search)
        arende.add_command(label="Nytt beslutsunderlag…", underline=0, accelerator="Ctrl+B",
                           command=self.open_basis)
        arende.add_command(label="Uppdatera", underline=0, accelerator="F5", command=self.refresh)
        arende.add_command(label="Stäng ärende", underline=1, accelerator="Ctrl+W", command=self.close_case)
        menubar.add_cascade(label="Ärende", underline=0, menu=arende)
        verktyg = tk.Menu(menubar, tearoff=False)
        verktyg.add_command(label="Kopiera ärendenummer", underline=0, command=self.copy_case_number)
        menubar.add_cascade(label="Verktyg", underline=0, menu=verktyg)
        hjalp = tk.Menu(menubar, tearoff=False)
        hjalp.add_command(label="Om Verksamhetssystem…", underline=0, accelerator="F1", command=self.about)
        menubar.add_cascade(label="Hjälp", underline=0, menu=hjalp)
        root.configure(menu=menubar)
        for sequence, action in (("<Control-f>", self.open_search), ("<Control-b>", self.open_basis),
                                 ("<F5>", self.refresh), ("<Control-w>", self.close_case),
                                 ("<Control-q>", self.quit), ("<F1>", self.about)):
            root.bind(sequence, lambda _e, act=action: act())
        root.protocol("WM_DELETE_WINDOW", self.quit)

        caption = tk.Label(root, name="caption", text="Ekonomiskt bistånd – Ärendeöversikt", anchor="w",
                           background=NAVY, foreground="white", font=("DejaVu Sans", 11, "bold"), padx=8, pady=4)
        caption.pack(fill="x")
        status = tk.Label(root, name="statusbar", textvariable=self.status, anchor="w", relief="sunken",
                          borderwidth=2, padx=4)
        status.pack(side="bottom", fill="x", padx=2, pady=2)
        body = tk.Frame(root, name="body", padx=6, pady=6)
        body.pack(fill="both", expand=True)
        self.case_header = tk.Label(body, text="Inget ärende öppet. Sök ärende med Ctrl+F.", anchor="w",
                                    font=BOLD)
        self.case_header.grid(row=0, column=0, columnspan=2, sticky="we", pady=(0, 4))

        def table(parent, name: str, title: str, columns: list[tuple[str, int]], height: int) -> ttk.Treeview:
            frame = tk.LabelFrame(parent, text=title, padx=4, pady=4, relief="groove", borderwidth=2)
            tree = ttk.Treeview(frame, name=name, columns=[c for c, _ in columns], show="headings",
                                height=height, selectmode="browse", takefocus=True)
            for column, width in columns:
                tree.heading(column, text=column, anchor="w")
                tree.column(column, width=width, anchor="w", stretch=True)
            tree.pack(fill="both", expand=True)
            return frame, tree

        left = tk.Frame(body)
        right = tk.Frame(body)
        left.grid(row=1, column=0, sticky="nsew", padx=(0, 4))
        right.grid(row=1, column=1, sticky="nsew")
        body.columnconfigure(0, weight=1)
        body.columnconfigure(1, weight=1)
        body.rowconfigure(1, weight=1)
        frame, self.household_list = table(left, "hushall", "Hushåll", [("Personnummer", 120), ("Namn", 200),
                                                                       ("Roll", 100)], 5)
        frame.pack(fill="x")
        frame, self.applications_list = table(left, "ansokningar", "Ansökningar",
                                              [("Ansökan", 130), ("Period", 70), ("Typ", 100), ("Status", 120)], 3)
        frame.pack(fill="x", pady=(4, 0))
        frame, self.previous_list = table(left, "tidigare_beslut", "Tidigare beslut",
                                          [("Period", 80), ("Beslut", 100), ("Belopp", 100)], 4)
        frame.pack(fill="x", pady=(4, 0))
        frame, self.bases_list = table(right, "beslutsunderlag", "Beslutsunderlag",
                                       [("Nr", 40), ("Ansökan", 130), ("Period", 70), ("Förslag", 150),
                                        ("Belopp", 90), ("Klient", 70), ("Sparat", 140)], 5)
        frame.pack(fill="x")
        frame, self.journal_list = table(right, "journal", "Journal", [("Tid", 140), ("Av", 80), ("Text", 420)], 9)
        frame.pack(fill="both", expand=True, pady=(4, 0))

    def show_case(self, case: dict[str, Any]) -> None:
        self.case = case
        address = case["address"]
        self.case_header.configure(
            text=f"Ärende {case['case_number']}   {address['street']}, {address['postal_code']} {address['city']}")
        self.root.title(f"Ärende {case['case_number']} – {TITLE}")
        rows = {
            self.household_list: [(m["personnummer"], f"{m['first_name']} {m['last_name']}", m["role_label"])
                                  for m in case["members"]],
            self.applications_list: [(a["application_id"], a["period"], a["kind_label"], a["status"])
                                     for a in case["applications"]],
            self.previous_list: [(d["period"], DECISIONS.get(d["decision"], d["decision"]), kr(d["amount"]))
                                 for d in case["previous_decisions"]],
            self.bases_list: [(b["id"], b["application_id"], b["period"], b["proposal_label"], kr(b["amount"]),
                               b["client"], b["time"]) for b in case["decision_bases"]],
            self.journal_list: [(n["time"], n["author"], n["text"].replace("\n", " ")[:200])
                                for n in case["journal"]],
        }
        for tree, values in rows.items():
            tree.delete(*tree.get_children())
            for row in values:
                tree.insert("", "end", values=row)
        self.request_publish()

    def close_case(self) -> None:
        if self.dialogs:
            return
        self.case = None
        for tree in (self.household_list, self.applications_list, self.previous_list, self.bases_list,
                     self.journal_list):
            tree.delete(*tree.get_children())
        self.case_header.configure(text="Inget ärende öppet. Sök ärende med Ctrl+F.")
        self.root.title(TITLE)
        self.set_status("Ärendet stängt")

    def refresh(self) -> None:
        if self.case is None or self.dialogs:
            return
        try:
            self.show_case(self.server.case(self.case["case_number"]))
            self.set_status("Ärendet uppdaterat")
        except ServerError as exc:
            self.set_status(str(exc))

    def copy_case_number(self) -> None:
        if self.case is not None:
            self.root.clipboard_clear()
            self.root.clipboard_append(self.case["case_number"])
            self.set_status("Ärendenumret kopierat")

    def about(self) -> None:
        if not self.dialogs and self.server.user:
            self.message("Om Verksamhetssystem", "Verksamhetssystem IFO 4.2 (simulerad klient)\n"
                         "Ekonomiskt bistånd, försörjningsstöd.")

    def quit(self) -> None:
        self.server.close()
        self.root.destroy()

    def log_out(self) -> None:
        if self.dialogs:
            return
        self.close_case()
        self.server.user = ""
        self.root.withdraw()
        self.open_login()

    # -- dialogs ------------------------------------------------------------------------------

    def _dialog(self, name: str, title: str) -> tk.Toplevel:
        dialog = tk.Toplevel(self.root, name=name, padx=10, pady=10)
        dialog.title(title)
        dialog.resizable(False, False)
        if self.root.winfo_viewable():
            dialog.transient(self.root)
        dialog.protocol("WM_DELETE_WINDOW", lambda: self.close_dialog(name))
        dialog.bind("<Escape>", lambda _e: self.close_dialog(name))
        self.dialogs[name] = dialog
        self.dialog_error = ""
        return dialog

    def _show_dialog(self, dialog: tk.Toplevel, first: tk.Widget, x: int = 180, y: int = 120) -> None:
        dialog.geometry(f"+{self.root.winfo_rootx() + x}+{self.root.winfo_rooty() + y}")
        dialog.deiconify()
        dialog.wait_visibility()
        dialog.grab_set()
        dialog.focus_force()
        first.focus_set()
        self.request_publish()

    def close_dialog(self, name: str) -> None:
        dialog = self.dialogs.pop(name, None)
        if dialog is not None:
            dialog.grab_release()
            dialog.destroy()
        self.dialog_error = ""
        remaining = [self.dialogs[n] for n in ("login", "search", "basis", "message") if n in self.dialogs]
        if remaining:
            remaining[-1].grab_set()
            remaining[-1].focus_force()
        elif self.server.user:
            self.root.focus_force()
        self.request_publish()

    def _error_label(self, dialog: tk.Toplevel, row: int) -> tk.Label:
        label = tk.Label(dialog, name="fel", text="", foreground="#b00000", anchor="w", justify="left",
                         wraplength=520)
        label.grid(row=row, column=0, columnspan=3, sticky="we", pady=(6, 0))
        return label

    def _show_error(self, label: tk.Label, text: str) -> None:
        self.dialog_error = text
        label.configure(text=text)
        self.root.bell()
        self.request_publish()

    def _buttons(self, dialog: tk.Toplevel, row: int, ok_text: str, ok, underline: int = 0) -> tk.Button:
        bar = tk.Frame(dialog)
        bar.grid(row=row, column=0, columnspan=3, sticky="e", pady=(10, 0))
        ok_button = tk.Button(bar, name="ok", text=ok_text, width=12, underline=underline, command=ok,
                              default="active")
        cancel = tk.Button(bar, name="avbryt", text="Avbryt", width=12, underline=0,
                           command=lambda: self.close_dialog(str(dialog).rsplit(".", 1)[-1]))
        ok_button.pack(side="left", padx=(0, 6))
        cancel.pack(side="left")
        return ok_button

    def message(self, title: str, text: str) -> None:
        """A modal message with an OK button (also used for the unexpected-dialog fault)."""
        dialog = self._dialog("message", title)
        tk.Label(dialog, text=text, justify="left", padx=10, pady=10, bitmap="info", compound="left").grid(
            row=0, column=0)
        ok = tk.Button(dialog, name="ok", text="OK", width=10, command=lambda: self.close_dialog("message"))
        ok.grid(row=1, column=0, pady=(6, 0))
        dialog.bind("<Return>", lambda _e: self.close_dialog("message"))
        self._show_dialog(dialog, ok, 300, 250)

    def open_login(self) -> None:
        dialog = self._dialog("login", "Logga in – Verksamhetssystem IFO")
        tk.Label(dialog, text="Verksamhetssystem IFO", font=("DejaVu Sans", 12, "bold"), foreground=NAVY).grid(
            row=0, column=0, columnspan=2, sticky="w", pady=(0, 8))
        tk.Label(dialog, text="Användarnamn:", underline=0).grid(row=1, column=0, sticky="w")
        username = tk.Entry(dialog, name="anvandarnamn", width=28, background="white")
        username.grid(row=1, column=1, pady=2)
        tk.Label(dialog, text="Lösenord:", underline=0).grid(row=2, column=0, sticky="w")
        password = tk.Entry(dialog, name="losenord", width=28, show="•", background="white")
        password.grid(row=2, column=1, pady=2)
        error = self._error_label(dialog, 3)

        def submit() -> None:
            try:
                self.server.login(username.get().strip(), password.get())
            except ServerError as exc:
                password.delete(0, "end")
                self._show_error(error, str(exc))
                password.focus_set()
                return
            self.close_dialog("login")
            self.root.deiconify()
            self.root.wait_visibility()
            self.root.focus_force()
            self.set_status(f"Inloggad som {self.server.user}")

        self._buttons(dialog, 4, "Logga in", submit)
        dialog.bind("<Return>", lambda _e: submit())
        self._show_dialog(dialog, username, 400, 300)

    def open_search(self) -> None:
        if self.dialogs or not self.server.user:
            return
        dialog = self._dialog("search", "Sök ärende")
        tk.Label(dialog, text="Ärendenummer:", underline=0).grid(row=0, column=0, sticky="w")
        case_number = tk.Entry(dialog, name="arendenummer", width=24, background="white")
        case_number.grid(row=0, column=1, pady=2)
        tk.Label(dialog, text="Personnummer:", underline=0).grid(row=1, column=0, sticky="w")
        personnummer = tk.Entry(dialog, name="personnummer", width=24, background="white")
        personnummer.grid(row=1, column=1, pady=2)
        tk.Label(dialog, text="(ÅÅÅÅMMDD-NNNN)", foreground="#555555").grid(row=1, column=2, sticky="w")
        error = self._error_label(dialog, 2)

        def submit() -> None:
            wanted, pnr = case_number.get().strip(), personnummer.get().strip()
            if not wanted and not pnr:
                self._show_error(error, "Ange ärendenummer eller personnummer.")
                return
            try:
                found = self.server.find_case(case_number=wanted, personnummer="" if wanted else pnr)
                case = self.server.case(found)
            except ServerError as exc:
                self._show_error(error, str(exc))
                return
            self.close_dialog("search")
            self.show_case(case)
            self.set_status(f"Ärende {found} öppnat")
            if self.faults.due("dialog-on-open"):
                self.message("Meddelande från systemförvaltningen",
                             "Systemet stängs för underhåll kl. 18.00.\nSpara ditt arbete.")

        for key in ("<Return>", "<Alt-s>"):
            dialog.bind(key, lambda _e: submit())
        self._buttons(dialog, 3, "Sök", submit)
        self._show_dialog(dialog, case_number)

    def open_basis(self) -> None:
        if self.dialogs or self.case is None:
            if self.case is None and not self.dialogs and self.server.user:
                self.set_status("Öppna ett ärende först (Ctrl+F).")
            return
        case_number = self.case["case_number"]
        dialog = self._dialog("basis", f"Nytt beslutsunderlag – ärende {case_number}")
        tk.Label(dialog, text="Beslutsunderlag", font=("DejaVu Sans", 11, "bold"), foreground=NAVY).grid(
            row=0, column=0, columnspan=3, sticky="w", pady=(0, 6))
        labels = [("ansokan", "Ansökan:"), ("period", "Period (ÅÅÅÅ-MM):"), ("forslag", "Förslag till beslut:"),
                  ("belopp", "Belopp (kr):"), ("noteringar", "Noteringar (koder):")]
        self.basis_fields: dict[str, tk.Widget] = {}
        for row, (name, text) in enumerate(labels, start=1):
            tk.Label(dialog, text=text).grid(row=row, column=0, sticky="w")
            if name == "forslag":
                widget = ttk.Combobox(dialog, name=name, values=list(PROPOSALS.values()), state="readonly",
                                      width=30)
                widget.bind("<KeyPress>", self._combobox_type_ahead)
                widget.bind("<<ComboboxSelected>>", lambda _e: self.request_publish())
            else:
                widget = tk.Entry(dialog, name=name, width=60 if name == "noteringar" else 24, background="white")
            widget.grid(row=row, column=1, columnspan=2, sticky="w", pady=2)
            self.basis_fields[name] = widget
        tk.Label(dialog, text="Beslutsunderlag (text):").grid(row=6, column=0, sticky="nw", pady=(4, 0))
        frame = tk.Frame(dialog, relief="sunken", borderwidth=2)
        frame.grid(row=6, column=1, columnspan=2, sticky="nsew", pady=(4, 0))
        self.report_box = tk.Text(frame, name="underlag", width=90, height=24, wrap="word", font=MONO,
                                  background="white", undo=False, relief="flat")
        scroll = tk.Scrollbar(frame, command=self.report_box.yview)
        self.report_box.configure(yscrollcommand=scroll.set)
        scroll.pack(side="right", fill="y")
        self.report_box.pack(side="left", fill="both", expand=True)
        # A tab moves on, as in every field of an old client's form; the text itself has no tabs.
        self.report_box.bind("<Tab>", lambda e: (e.widget.tk_focusNext().focus_set(), "break")[1])
        self.report_box.bind("<Shift-Tab>", lambda e: (e.widget.tk_focusPrev().focus_set(), "break")[1])
        self.report_box.bind("<<Paste>>", lambda _e: self.root.after_idle(self.request_publish), add="+")
        error = self._error_label(dialog, 7)
        application_ids = [a["application_id"] for a in self.case["applications"]]
        periods = {a["application_id"]: a["period"] for a in self.case["applications"]}

        def submit() -> None:
            fields = {name: widget.get().strip() for name, widget in self.basis_fields.items()}
            proposal = next((code for code, label in PROPOSALS.items() if label == fields["forslag"]), "")
            if fields["ansokan"].upper() not in application_ids:
                self._show_error(error, f"Ansökan {fields['ansokan'] or '(tom)'} finns inte i ärendet.")
                return
            if not proposal:
                self._show_error(error, "Välj ett förslag till beslut.")
                return
            try:
                basis_id = self.server.save_basis(case_number, {
                    "application_id": fields["ansokan"], "period": fields["period"] or periods.get(
                        fields["ansokan"].upper(), ""),
                    "proposal": proposal, "amount": fields["belopp"], "findings": fields["noteringar"],
                    "report_text": self.report_box.get("1.0", "end-1c"),
                })
                case = self.server.case(case_number)
            except ServerError as exc:
                self._show_error(error, str(exc))
                return
            self.close_dialog("basis")
            self.show_case(case)
            if self.faults.due("hang-after-save"):
                time.sleep(HANG_SECONDS)  # the fault: a frozen client (no events, no heartbeat)
            self.set_status(f"{SAVED} (nr {basis_id})")

        self._buttons(dialog, 8, "Spara", submit)
        dialog.bind("<Control-s>", lambda _e: submit())
        dialog.bind("<Alt-s>", lambda _e: submit())
        self._show_dialog(dialog, self.basis_fields["ansokan"], 60, 40)

    def _combobox_type_ahead(self, event: tk.Event) -> str | None:
        """A letter picks the first entry starting with it, as a Windows drop-down does."""
        if not event.char or not event.char.isalpha():
            return None
        widget: ttk.Combobox = event.widget
        values = list(widget.cget("values"))
        match = next((v for v in values if v.lower().startswith(event.char.lower())), None)
        if match is not None:
            widget.set(match)
            self.request_publish()
        return "break"

    def run(self) -> None:
        self.root.mainloop()
