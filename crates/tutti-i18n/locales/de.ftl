# tutti's Cockpit auf Deutsch. Jede Nachricht hier hat einen Zwilling in en.ftl.

## Rahmen
skip-to-content = Zum Inhalt springen
nav-label = Hauptnavigation
nav-home = Cockpit
nav-objectives = Ziele
nav-work = Arbeit
nav-decisions = Entscheidungen
nav-ledger = Ledger & Budgets
nav-audit = Audit
nav-sign-out = Abmelden
language-other = English
language-switch = Switch to English
system = System
yes = ja
no = nein
tokens = Tokens
until = bis { $when }
since = seit { $when }
and-more = … und { $count } weitere
week-label = KW { $week }
progress-of-expected = { $progress } erreicht, { $expected } wären jetzt fällig

## Fehler
error-forbidden = Nicht erlaubt
error-not-found = Nicht gefunden
error-invalid = Das hat nicht geklappt
error-internal = Etwas ist schiefgegangen
error-back = Zurück
error-csrf = Dieses Formular ist veraltet. Bitte die Seite neu laden und noch einmal senden.
error-explain-forbidden = Dafür fehlen Ihnen die Rechte.
error-explain-not-found = Das gibt es hier nicht (mehr).
error-explain-conflict = Das passt nicht zum aktuellen Stand – vielleicht war jemand schneller.
error-explain-invalid = Eine Angabe passt nicht: { $field }.
error-explain-other = Die Anfrage konnte so nicht bearbeitet werden.
error-explain-internal = Bei uns ist etwas schiefgegangen. Es ist protokolliert.
error-detail = Im Einzelnen (englisch):

## Anmeldung
signin-title = Anmelden
signin-lede = Das Cockpit für hybride Teams: Strategie, Arbeit, Menschen und KI-Mitarbeiter.
signin-email = E-Mail
signin-password = Passwort
signin-submit = Anmelden
signin-throttled = Zu viele Fehlversuche. Bitte in { $seconds } Sekunden erneut versuchen.
signin-failed = E-Mail oder Passwort stimmt nicht.
signin-incomplete = Bitte E-Mail und Passwort angeben.
signin-stale = Das Anmeldeformular ist abgelaufen. Bitte noch einmal versuchen.

## Cockpit
home-title = Cockpit
home-alerts = Alarme
home-no-alerts = Keine Alarme. Alles bewegt sich in seinen Grenzen.
home-waiting = Wartet auf mich
home-waiting-empty = Gerade wartet nichts auf dich.
home-decisions-to-approve = Entscheidungen zur Freigabe
home-runs-to-review = KI-Arbeit zur Abnahme
home-objectives = Ziele
home-spend = Token-Verbrauch gegen Budgets
home-flow = Arbeitsfluss
home-workers = KI-Mitarbeiter
alert-open = Öffnen
at-risk = gefährdet
objectives-all = Alle Ziele
ledger-open = Ledger und Budgets
flow-in-progress = In Arbeit
flow-blocked = Blockiert
flow-unplanned-share = Ungeplanter Anteil offener Arbeit
flow-done-this-week = Diese Woche erledigt
flow-throughput = Erledigt pro Woche
flow-done = erledigt
flow-open = offen
flow-open-by-kind = Offene Arbeit, geplant und ungeplant
worker = Mitarbeiter
worker-accept-rate = Angenommen
worker-mean-rating = Mittlere Bewertung
worker-cost-per-accepted = Kosten je angenommenem Ergebnis
workers-none = Noch keine KI-Mitarbeiter.
ai-worker = KI-Mitarbeiter

## Signale
signal-title-objective_at_risk = Ziel gefährdet
signal-title-budget_past_warn = Budget über der Warnschwelle
signal-title-decision_overdue = Entscheidung überfällig
signal-title-work_blocked = Arbeit blockiert
signal-title-worker_high_revise_rate = KI-Mitarbeiter tut sich schwer
signal-title-leader_bottleneck = Entscheidungen stauen sich
signal-title-promise_at_risk = Versprechen gefährdet
signal-title-promise_broken = Versprechen gebrochen
signal-title-reactive_share_rising = Reaktive Last steigt
signal-reactive_share_rising = Der ungeplante Anteil neuer Arbeit ist { $weeks } Wochen in Folge gestiegen, von { $from } % auf { $to } %: Störungen verdrängen planbare Leistungen.
signal-promise_at_risk = „{ $title }“ für { $customer }: { $overdue ->
    [yes] seit { $hours } Stunden überfällig.
   *[other] noch { $hours } Stunden, weniger als ein Viertel der Zeit.
}
signal-promise_broken = „{ $title }“ für { $customer } ist gebrochen; halten sollte es { $stage }: { $why }
signal-objective_at_risk = „{ $title }“ ist zu { $progress } % erreicht, obwohl { $expected } % des Zeitraums vorbei sind.
signal-budget_past_warn = Budget „{ $name }“ steht bei { $used } % { $state ->
    [exhausted] und lehnt weitere Aufrufe ab.
   *[other] seines Limits.
}
signal-decision_overdue = „{ $question }“ wartet seit { $hours } Stunden über die Frist hinaus.
signal-work_blocked = „{ $title }“ ist seit { $days } Tagen blockiert.
signal-worker_high_revise_rate = { $sent_back } von { $reviews } Ergebnissen von { $name } gingen zur Überarbeitung zurück oder wurden abgelehnt.
signal-leader_bottleneck = { $count } Entscheidungen warten auf { $name }.

## Ziele
objectives-title = Ziele
objectives-lede = Der Zielbaum: Der Fortschritt jedes Ziels ergibt sich aus seinen Schlüsselergebnissen und den Zielen darunter. Die Marke zeigt, wo es jetzt stehen sollte.
objectives-none = Noch keine Ziele.
objectives-below = { $count ->
    [one] ein Ziel darunter
   *[other] { $count } Ziele darunter
}
objectives-unaligned = Arbeit ohne Ziel
objectives-unaligned-lede = Arbeit, die keinem Schlüsselergebnis dient. Etwas davon ist normal; viel davon heißt, Strategie und Arbeit laufen auseinander.
objectives-unaligned-none = Alle Arbeit dient einem Schlüsselergebnis.
unaligned = ohne Ziel
objective-why = Warum
objective-period = Zeitraum
objective-owner = Verantwortlich
objective-progress = Fortschritt
objective-parent = Übergeordnetes Ziel
objective-children = Ziele darunter
risk-behind = { $progress } erreicht, { $expected } erwartet.
risk-low-confidence = Die Zuversicht eines Schlüsselergebnisses liegt bei { $confidence } von 10.
key-results = Schlüsselergebnisse
key-results-none = Dieses Ziel hat noch keine Schlüsselergebnisse.
kr-figures = jetzt { $current }, Ziel { $target }, Start { $baseline }
kr-confidence = Zuversicht { $confidence }/10
kr-history = Check-ins von { $title }
kr-check-ins = { $count ->
    [one] ein Check-in
   *[other] { $count } Check-ins
}
check-in-value = Wert
check-in-confidence = Zuversicht (0–10)
check-in-note = Notiz
check-in-submit = Einchecken

## Arbeit
work-title = Arbeit
work-state = Status
work-kind = Art
work-priority = Priorität
work-assignee = Zuständig
work-due = Fällig
work-serves = Dient
work-more = Alle zeigen
work-state-backlog = Backlog
work-state-ready = Bereit
work-state-running = In Arbeit
work-state-in_review = In Abnahme
work-state-done = Erledigt
work-state-blocked = Blockiert
work-state-cancelled = Abgebrochen
work-kind-planned = geplant
work-kind-unplanned = ungeplant
priority-low = niedrig
priority-normal = normal
priority-high = hoch
priority-urgent = dringend
filter-state = Status
filter-team = Team
filter-assignee = Zuständig
filter-unaligned = nur ohne Ziel
filter-all = alle
filter-apply = Filtern
runs = Durchläufe
runs-none = Noch hat kein KI-Mitarbeiter daran gearbeitet.
run-start = KI-Mitarbeiter starten lassen
run-iteration = Runde { $iteration }
run-usage = { $tokens } Tokens, { $cost }
run-work-order = Arbeitsauftrag
run-no-output = Keine Ausgabe.
run-status-queued = wartet
run-status-running = läuft
run-status-succeeded = fertig
run-status-failed = gescheitert
run-status-cancelled = abgebrochen
verdict-accept = Annehmen
verdict-revise = Überarbeiten
verdict-reject = Ablehnen
review-verdict = Dein Urteil
review-rating = bewertet mit { $rating }/5
review-rating-label = Bewertung
review-feedback = Rückmeldung an den Mitarbeiter
review-submit = Abnahme senden

## Entscheidungen
decisions-title = Entscheidungen
decisions-mine = Wartet auf meine Stimme
decisions-mine-none = Keine Entscheidung wartet auf deine Stimme.
decisions-waiting = Wartet auf Menschen
decisions-none = Keine Entscheidung wartet.
decisions-open = Wartet auf den KI-Mitarbeiter
decisions-open-lede = Der KI-Mitarbeiter muss noch Optionen und eine Empfehlung vorlegen.
decision-status-open = offen
decision-status-awaiting_approval = wartet auf Freigabe
decision-status-escalated = eskaliert
decision-status-decided = entschieden
decision-status-rejected = abgelehnt
autonomy-ai_decides = KI entscheidet
autonomy-ai_prepares = KI bereitet vor
autonomy-human_only = nur Menschen
fact-amount = Betrag
fact-risk = Risiko
fact-reversible = Umkehrbar
fact-customer-facing = Kundenwirksam
risk-low = niedrig
risk-medium = mittel
risk-high = hoch
decision-requested-by = Angefragt von
decision-assignee = KI-Mitarbeiter
decision-quorum = Nötige Freigaben
decision-deadline = Frist
decision-routing = Warum es so lief
decision-escalated-to = Eskaliert an { $name }
decision-recommendation = Empfehlung des KI-Mitarbeiters
decision-ai-choice = Entscheidung des KI-Mitarbeiters
confidence-share = Zuversicht { $confidence }
decision-options = Optionen
decision-chosen = gewählt
decision-reason = Begründung
decision-ballots = Stimmen
vote-approve = gibt frei
vote-reject = lehnt ab
decision-your-vote = Deine Stimme
decision-choose = Option wählen
decision-approve = Freigeben
decision-reject = Ablehnen
decision-reject-reason = Warum ablehnen?
decision-trail = Spur in der Audit-Kette
verdict-allowed = erlaubt
verdict-denied = verweigert
verdict-by = durch
verdict-no-policy = keine Regel erlaubt es
register-title = Entscheidungsregister
register-csv = Register als CSV
register-decided = Entschieden
register-recommended = Mit KI-Empfehlung
register-followed = Empfehlungen gefolgt
spaces-title = Entscheidungsräume
spaces-lede = Ein Entscheidungsraum legt in einer Cedar-Policy fest, was ein KI-Mitarbeiter entscheiden darf, was er nur vorbereiten darf und was Menschen vorbehalten bleibt — und nach welchen Grundsätzen gearbeitet wird.
spaces-none = Noch keine Entscheidungsräume.
space-version = Version { $version }
space-saved = Gespeichert. Die neue Version steht in der Audit-Kette.
space-principles = Grundsätze (einer pro Zeile)
space-policy = Policy (Cedar)
space-quorum = Nötige Freigaben
space-save = Speichern
simulate-title = Entscheidung durchspielen
simulate-lede = Leitet eine gedachte Entscheidung nach der Policy im Editor, ohne etwas zu speichern.
simulate-submit = Simulieren
simulate-result = Simulation
simulate-quorum = { $quorum } Freigaben nötig

## Ledger
ledger-title = Ledger & Budgets
ledger-group = Verbrauch gruppieren nach
ledger-by-team = Team
ledger-by-objective = Ziel
ledger-by-worker = Mitarbeiter
ledger-by-model = Modell
ledger-spend-days = Verbrauch der letzten { $days } Tage
ledger-empty = In dieser Zeit wurde nichts verbraucht.
ledger-cost = Kosten
ledger-other = Übrige
ledger-unassigned = nicht zugeordnet
ledger-totals = Insgesamt abgerechnet: { $settled } für { $tokens } Tokens; { $open } offene Reservierungen.
budgets-title = Budgets
budgets-none = Noch keine Budgets.
budget-name = Budget
budget-scope = Für
budget-period = Zeitraum
budget-used = Verbraucht
budget-state = Stand
budget-hard = hart
budget-state-ok = im Rahmen
budget-state-warn = über der Warnschwelle
budget-state-exhausted = ausgeschöpft
budget-scope-org = die Organisation
budget-scope-team = ein Team
budget-scope-objective = ein Ziel
budget-scope-worker = einen Mitarbeiter
budget-period-month = Monat
budget-period-quarter = Quartal
budget-period-lifetime = gesamte Laufzeit

## Audit
audit-title = Audit
audit-verified = Die Kette ist geprüft: { $count } Ereignisse, keines verändert oder entfernt.
audit-walked-whole = (vollständig geprüft { $when }; seitdem die neuen Einträge)
audit-broken = Die Kette ist bei Ereignis { $seq } gebrochen: { $reason }
audit-action = Aktion
audit-subject = Gegenstand
audit-when = Wann
audit-who = Wer
audit-hash = Hash
audit-none = Keine passenden Ereignisse.
audit-pages = Seiten
audit-older = älter
audit-newer = neuer

## Alerts
nav-alerts = Alarme
alerts-title = Alarme
alerts-all = Alle Alarme, die neuesten zuerst
alerts-signal = Signal
alerts-why = Warum
alerts-concerns = Betrifft
alerts-concerns-org = die Organisation
alerts-raised = Ausgelöst
alerts-state = Stand
alerts-open = offen
alerts-cleared = erledigt
home-alerts-all = Alle Alarme
home-alerts-mine = Über dich und deine Teams
home-alerts-none-mine = Kein Alarm betrifft dich oder deine Teams.
home-alerts-others = { $count ->
    [one] ein weiterer offener Alarm in der Organisation
   *[other] { $count } weitere offene Alarme in der Organisation
}
alerts-mine = Alarme über dich und deine Teams, die neuesten zuerst
alerts-scope = Zeigen
alerts-scope-all = alle
alerts-scope-mine = meine
webhooks-title = Webhooks
webhooks-intro = Jeder neue Alarm geht an diese Webhooks (Slack oder Microsoft Teams). Fehlgeschlagene Zustellungen werden wiederholt.
webhooks-none = Noch keine Webhooks.
webhooks-delete = Webhook entfernen
webhooks-deliveries = Letzte Zustellungen
webhooks-no-deliveries = Noch nichts zugestellt.
webhooks-attempts = Versuche
webhooks-when = Wann
webhooks-error = Fehler
webhooks-add = Webhook hinzufügen
webhooks-name = Name
webhooks-format = Format
webhooks-url = Webhook-URL
webhooks-locale = Sprache der Nachrichten
webhooks-team = Für
webhooks-team-all = alle Alarme
webhooks-for-team = Alarme von { $team } und darunter
webhooks-save = Hinzufügen
delivery-pending = wartet
delivery-delivered = zugestellt
delivery-failed = fehlgeschlagen

## Providers and models (/providers)
ledger-sections = Bereiche
providers-title = Anbieter & Modelle
providers-list = Angebundene Anbieter
providers-intro = Wo die KI-Arbeit läuft, was ihre Tokens kosten und wie lange ein Aufruf auf einen Anbieter wartet. Schlüssel werden nie angezeigt.
providers-none = Noch kein Anbieter. Ohne Anbieter kann kein KI-Mitarbeiter arbeiten.
providers-kind-openai = OpenAI-kompatibel
providers-kind-embedded = Eingebautes Modell
providers-base-url = Adresse (base URL)
providers-api-key = Schlüssel
providers-api-key-env = Schlüssel aus Umgebungsvariable
providers-key-env = aus der Umgebungsvariable { $var }
providers-key-stored = hinterlegt (wird nie angezeigt)
providers-key-none = keiner
providers-limits = Wartezeiten
providers-limits-are = Verbindung { $connect } · erste Antwort { $first_byte } · zwischen zwei Teilen { $idle } · ganzer Aufruf { $deadline }
providers-limits-change = Wartezeiten ändern
providers-limits-intro = Ein Anbieter, der nicht antwortet, hält einen Aufruf und sein reserviertes Budget höchstens so lange. Jede Zeit gilt für sich; die Frist für den ganzen Aufruf beendet ihn zuerst.
providers-limits-save = Wartezeiten speichern
providers-limit-connect = Verbindung (Sekunden)
providers-limit-first-byte = Bis zur ersten Antwort (Sekunden)
providers-limit-idle = Zwischen zwei Teilen einer Antwort (Sekunden)
providers-limit-deadline = Ganzer Aufruf mit Wiederholungen (Sekunden)
providers-models = Modelle und Preise je Million Tokens
providers-no-models = Noch keine Modelle mit Preisen. Ein Aufruf braucht ein Modell mit Preis, damit Budgets halten.
providers-model = Modell
providers-price-input = Eingabe
providers-price-cached = Eingabe aus dem Cache
providers-price-cached-default = wie Eingabe
providers-price-output = Ausgabe
providers-model-change = Modell hinzufügen oder Preise ändern
providers-model-intro = Preise je Million Tokens in der Währung der Organisation, z. B. 0,15. Ein vorhandenes Modell bekommt die neuen Preise für alle folgenden Aufrufe.
providers-model-save = Modell speichern
providers-add = Anbieter hinzufügen
providers-add-intro = Ein OpenAI-kompatibler Server (z. B. vLLM, Ollama oder ein Cloud-Anbieter) braucht seine Adresse und meist einen Schlüssel; das eingebaute Modell braucht nichts davon.
providers-name = Name
providers-kind = Art
providers-add-save = Anbieter hinzufügen
seconds = { $n ->
    [one] { $n } Sekunde
   *[other] { $n } Sekunden
}

## Work levers
work-new = Neue Arbeit anlegen
work-new-title = Titel
work-new-description = Beschreibung
work-new-no-team = ohne Team
work-new-nobody = niemand
work-new-ai-hint = Arbeit, die als „bereit“ bei einem KI-Mitarbeiter liegt, beginnt sofort: Sein Arbeitsauftrag wird erstellt und ausgeführt.
work-new-save = Arbeit anlegen
work-move = Verschieben
work-move-label = „{ $title }“ verschieben nach
work-assign = Übergeben an
work-assign-save = Übergeben

## Objective levers
objective-new = Neues Ziel anlegen
objective-new-child = Unterziel anlegen
objective-title = Ziel
objective-period-start = Beginn
objective-period-end = Ende
objective-new-save = Ziel anlegen
objective-status = Stand
objective-status-active = aktiv
objective-status-achieved = erreicht
objective-status-dropped = aufgegeben
objective-status-save = Stand speichern
kr-new = Schlüsselergebnis hinzufügen
kr-title = Schlüsselergebnis
kr-baseline = Ausgangswert
kr-target = Zielwert
kr-unit = Einheit
kr-new-save = Schlüsselergebnis hinzufügen
objective-edit = Ziel bearbeiten
objective-edit-save = Änderungen speichern
objective-parent-none = keines (oberstes Ziel)
kr-edit = Schlüsselergebnis ändern
kr-edit-save = Änderungen speichern
kr-target-reason = Warum sich das Ziel verschiebt
kr-target-reason-hint = Bleibt neben dem alten Zielwert sichtbar.
kr-target-moved = Zielwert verschoben von { $from } auf { $to }
kr-target-first = ursprünglich { $target }
kr-target-moves = { $count ->
    [one] eine Zielverschiebung
   *[other] { $count } Zielverschiebungen
}

## People and teams (/people)
nav-people = Team
people-title = Menschen und Teams
people-teams = Teams
people-teams-none = Noch keine Teams.
people-team = Team
people-lead = Leitung
people-parent = Übergeordnetes Team
people-parent-none = keins
people-team-new = Team anlegen
people-team-save = Team anlegen
people-members = Mitglieder, Menschen und KI
people-name = Name
people-role = Rolle
people-runs-on = E-Mail oder Modell
people-actions = Aktionen
people-token = Token ausstellen
people-token-for = Token ausstellen für { $name }
people-token-label = im Cockpit ausgestellt
people-token-issued = Neues API-Token für { $name }
people-token-hint = Es wird nur jetzt angezeigt; gespeichert wird nur sein Fingerabdruck. Gib es dem Agenten als OPENAI_API_KEY, mit der Adresse dieses Servers und /v1.
people-invite = Person einladen
people-invite-intro = Die Person meldet sich mit ihrer E-Mail und einem Startpasswort an, das nur einmal angezeigt wird.
people-email = E-Mail
people-invite-save = Einladen
people-invited = Startpasswort für { $name }
people-invited-hint = Es wird nur jetzt angezeigt. Gib es persönlich weiter; mit „tutti member set-password“ lässt es sich ändern.
people-worker = KI-Mitarbeiter hinzufügen
people-worker-intro = Rollenbeschreibung, Modell, wie viele Läufe zugleich, und auf Wunsch ein Monatsbudget, das hält.
people-worker-no-models = Noch kein Modell mit Preis: zuerst bei Anbieter & Modelle eines anlegen.
people-role-card = Rollenbeschreibung
people-model = Anbieter / Modell
people-concurrency = Läufe zugleich
people-budget = Monatsbudget (optional)
people-budget-tokens = Tokens im Monat
people-budget-cost = Kosten im Monat
people-budget-name = Monatsbudget { $name }
people-worker-save = KI-Mitarbeiter hinzufügen
role-owner = Inhaberin
role-admin = Admin
role-lead = Teamleitung
role-member = Mitglied
role-viewer = Lesend

## Budget lever
budget-new = Budget festlegen
budget-new-tokens = Tokens höchstens
budget-new-cost = Kosten höchstens
budget-new-warn = Warnen ab (Prozent)
budget-new-hard = hart: Aufrufe ablehnen, die es überschreiten könnten
budget-new-save = Budget festlegen

## Decision levers
decision-raise = Entscheidung anfragen
decision-raise-lede = Die Richtlinie dieses Raums ordnet sie sofort zu: Die KI entscheidet, bereitet vor, oder Menschen entscheiden.
decision-question = Frage
decision-context = Hintergrund
decision-options-lines = Optionen, eine je Zeile
decision-raise-save = Anfragen
decision-outcome = Wie ist es ausgegangen?
decision-outcome-lede = Ein Rückblick zeigt im Register, welche Entscheidungen sich bewährt haben.
decision-outcome-was = Die Entscheidung war
decision-outcome-note = Anmerkung
decision-outcome-save = Rückblick speichern
outcome-good = gut
outcome-bad = nicht gut
outcome-unclear = noch unklar

## Space lever
space-new = Entscheidungsraum anlegen
space-new-lede = Ein Raum legt fest, welche Entscheidungen eine KI treffen darf, nur vorbereiten darf, oder Menschen überlassen muss. Er beginnt mit einer Vorlage; die Richtlinie lässt sich danach im Raum bearbeiten.
space-name = Name
space-template = Vorlage
space-template-discounts = KI entscheidet kleine, umkehrbare Beträge; den Rest bereitet sie für zwei Menschen vor
space-template-prepare-only = KI bereitet jede Entscheidung vor, Menschen entscheiden
space-template-people-only = Nur Menschen entscheiden
space-new-save = Raum anlegen

## Service (/service)
nav-service = Service
service-title = Service und Versprechen
service-lede = Welche Versprechen machen wir unseren Kundinnen und Kunden, wer sichert ab, dass sie gehalten werden können, und welche wackeln gerade?
promises-urgent = Gefährdet oder überfällig
promises-urgent-none = Kein offenes Versprechen ist gefährdet. Gut so.
promises-urgent-caption = Offene Versprechen, bei denen weniger als ein Viertel der Zeit bleibt oder die Frist schon verstrichen ist
promises-broken = Gebrochen in den letzten 7 Tagen
promises-broken-none = In den letzten 7 Tagen wurde kein Versprechen gebrochen.
promises-open = Offen und im Plan
promises-more = Es gibt mehr offene Versprechen, als diese Seite zeigt (die nächstfälligen zuerst); alle mit `tutti promise list --unfinished`.
promises-open-none = Keine weiteren offenen Versprechen.
promises-open-caption = Offene und pausierte Versprechen, die im Plan sind
promise-title = Versprechen
promise-customer = Kunde
promise-due = Fällig
promise-due-utc = Fällig am (UTC)
promise-state = Stand
promise-teams = Gemacht → gehalten von
promise-steps = Handeln
promise-moved-by-pause = verschoben durch Pause
promise-at-risk = gefährdet
promise-overdue = überfällig
promise-state-open = offen
promise-state-paused = pausiert
promise-state-kept = gehalten
promise-state-broken = gebrochen
feasibility-pending = noch nicht abgesichert
feasibility-feasible = machbar
feasibility-not_feasible = nicht machbar
promise-feasible = Machbar
promise-not-feasible = Nicht machbar
promise-why-not = Warum nicht?
promise-pause = Pausieren (wartet auf Kunden)
promise-resume = Fortsetzen
promise-keep = Gehalten
promise-break = Gebrochen
promise-why-broken = Was ist passiert?
promise-new = Versprechen festhalten
promise-made-by = Gemacht von Team
promise-keeper = Gehalten von Team
promise-product = Serviceprodukt
promise-new-save = Versprechen festhalten
service-catalogue = Servicekatalog
service-catalogue-none = Noch keine Serviceprodukte.
service-name = Serviceprodukt
service-kind = Art
service-kind-preventive = planbar
service-kind-reactive = reaktiv
service-for = Für
service-levels = Zugesagte Servicelevel
service-levels-lines = Servicelevel, eines je Zeile
service-description = Beschreibung
service-new = Serviceprodukt anlegen
service-new-save = Serviceprodukt anlegen
service-load = Planbar oder reaktiv
service-load-share = Reaktiver Anteil der neuen Arbeit diese Woche: { $week }, im Schnitt der letzten 12 Wochen: { $average }.
service-load-chart = Neue Arbeit pro Woche, geplant und ungeplant
