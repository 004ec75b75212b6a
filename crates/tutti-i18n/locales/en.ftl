# tutti's cockpit in English. Every message here has a twin in de.ftl.

## Frame
skip-to-content = Skip to content
nav-label = Main
nav-home = Cockpit
nav-objectives = Objectives
nav-work = Work
nav-decisions = Decisions
nav-ledger = Ledger & budgets
nav-audit = Audit
nav-sign-out = Sign out
language-other = Deutsch
language-switch = Auf Deutsch umschalten
system = system
yes = yes
no = no
tokens = tokens
until = until { $when }
since = since { $when }
and-more = … and { $count } more
week-label = W{ $week }
progress-of-expected = { $progress } done, { $expected } expected by now

## Errors
error-forbidden = Not allowed
error-not-found = Not found
error-invalid = That did not work
error-internal = Something went wrong
error-back = Back
error-csrf = This form is out of date. Reload the page and send it again.
error-explain-forbidden = You are not allowed to do this.
error-explain-not-found = This does not exist here (any more).
error-explain-conflict = This does not fit the current state — someone may have been faster.
error-explain-invalid = One entry does not fit: { $field }.
error-explain-other = The request could not be handled like this.
error-explain-internal = Something went wrong on our side. It has been logged.
error-detail = In detail:

## Sign-in
signin-title = Sign in
signin-lede = The cockpit for hybrid teams: strategy, work, people and AI workers.
signin-email = Email
signin-password = Password
signin-submit = Sign in
signin-throttled = Too many failed tries. Please try again in { $seconds } seconds.
signin-failed = Email or password is not right.
signin-incomplete = Please give your email and password.
signin-stale = The sign-in form expired. Please try again.

## Home
home-title = Cockpit
home-alerts = Alerts
home-no-alerts = No alerts. Everything is within its lines.
home-waiting = Waiting on me
home-waiting-empty = Nothing waits on you right now.
home-decisions-to-approve = Decisions to approve
home-runs-to-review = AI work to review
home-objectives = Objectives
home-spend = Token spend against budgets
home-flow = Flow of work
home-workers = AI workers
alert-open = Open
at-risk = at risk
objectives-all = All objectives
ledger-open = Ledger and budgets
flow-in-progress = In progress
flow-blocked = Blocked
flow-unplanned-share = Unplanned share of open work
flow-done-this-week = Done this week
flow-throughput = Done per week
flow-done = done
flow-open = open
flow-open-by-kind = Open work, planned and unplanned
worker = Worker
worker-accept-rate = Accepted
worker-mean-rating = Mean rating
worker-cost-per-accepted = Cost per accepted item
workers-none = No AI workers yet.
ai-worker = AI worker

## Signals
signal-title-objective_at_risk = Objective at risk
signal-title-budget_past_warn = Budget past its warn line
signal-title-decision_overdue = Decision overdue
signal-title-work_blocked = Work blocked
signal-title-worker_high_revise_rate = AI worker struggles
signal-title-leader_bottleneck = Decisions pile up
signal-title-promise_at_risk = Promise at risk
signal-title-promise_broken = Promise broken
signal-title-reactive_share_rising = Reactive load rising
signal-reactive_share_rising = The unplanned share of new work rose { $weeks } weeks in a row, from { $from }% to { $to }%: breakdowns crowd out planned service.
signal-promise_at_risk = “{ $title }” for { $customer }: { $overdue ->
    [yes] overdue by { $hours } hours.
   *[other] { $hours } hours left, less than a quarter of its time.
}
signal-promise_broken = “{ $title }” for { $customer } is broken; { $stage } was to keep it: { $why }
signal-objective_at_risk = “{ $title }” is { $progress }% done while { $expected }% of its period has passed.
signal-budget_past_warn = Budget “{ $name }” is at { $used }% { $state ->
    [exhausted] and refuses further calls.
   *[other] of its limit.
}
signal-decision_overdue = “{ $question }” has waited { $hours } hours past its deadline.
signal-work_blocked = “{ $title }” has been blocked for { $days } days.
signal-worker_high_revise_rate = People sent { $sent_back } of { $reviews } results of { $name } back for revision or rejected them.
signal-leader_bottleneck = { $count } decisions wait on { $name }.

## Objectives
objectives-title = Objectives
objectives-lede = The alignment tree: each objective's progress is rolled up from its key results and the objectives below it. The mark shows where it should be by now.
objectives-none = No objectives yet.
objectives-below = { $count ->
    [one] one objective below
   *[other] { $count } objectives below
}
objectives-unaligned = Unaligned work
objectives-unaligned-lede = Work that serves no key result. Some is fine; a lot means the strategy and the work drift apart.
objectives-unaligned-none = All work serves a key result.
unaligned = unaligned
objective-why = Why
objective-period = Period
objective-owner = Owner
objective-progress = Progress
objective-parent = Parent objective
objective-children = Objectives below
risk-behind = { $progress } done, { $expected } expected.
risk-low-confidence = A key result's confidence is { $confidence } of 10.
key-results = Key results
key-results-none = This objective has no key results yet.
kr-figures = now { $current }, target { $target }, from { $baseline }
kr-confidence = confidence { $confidence }/10
kr-history = Check-ins of { $title }
kr-check-ins = { $count ->
    [one] one check-in
   *[other] { $count } check-ins
}
check-in-value = Value
check-in-confidence = Confidence (0–10)
check-in-note = Note
check-in-submit = Check in

## Work
work-title = Work
work-state = State
work-kind = Kind
work-priority = Priority
work-assignee = Assignee
work-due = Due
work-serves = Serves
work-more = Show all
work-state-backlog = Backlog
work-state-ready = Ready
work-state-running = Running
work-state-in_review = In review
work-state-done = Done
work-state-blocked = Blocked
work-state-cancelled = Cancelled
work-kind-planned = planned
work-kind-unplanned = unplanned
priority-low = low
priority-normal = normal
priority-high = high
priority-urgent = urgent
filter-state = State
filter-team = Team
filter-assignee = Assignee
filter-unaligned = only unaligned
filter-all = all
filter-apply = Filter
runs = Runs
runs-none = No AI worker has worked on this yet.
run-start = Let the AI worker start
run-iteration = Iteration { $iteration }
run-usage = { $tokens } tokens, { $cost }
run-work-order = Work order
run-no-output = No output.
run-status-queued = queued
run-status-running = running
run-status-succeeded = finished
run-status-failed = failed
run-status-cancelled = cancelled
verdict-accept = Accept
verdict-revise = Revise
verdict-reject = Reject
review-verdict = Your verdict
review-rating = rated { $rating }/5
review-rating-label = Rating
review-feedback = Feedback for the worker
review-submit = Send review

## Decisions
decisions-title = Decisions
decisions-mine = Waiting on my vote
decisions-mine-none = No decision waits on your vote.
decisions-waiting = Waiting for people
decisions-none = No decision is waiting.
decisions-open = Waiting for the AI worker
decisions-open-lede = The AI worker has yet to propose options and a recommendation.
decision-status-open = open
decision-status-awaiting_approval = awaiting approval
decision-status-escalated = escalated
decision-status-decided = decided
decision-status-rejected = rejected
autonomy-ai_decides = AI decides
autonomy-ai_prepares = AI prepares
autonomy-human_only = people only
fact-amount = Amount
fact-risk = Risk
fact-reversible = Reversible
fact-customer-facing = Customer-facing
risk-low = low
risk-medium = medium
risk-high = high
decision-requested-by = Requested by
decision-assignee = AI worker
decision-quorum = Approvals needed
decision-deadline = Deadline
decision-routing = Why it went this way
decision-escalated-to = Escalated to { $name }
decision-recommendation = The AI worker's recommendation
decision-ai-choice = The AI worker's decision
confidence-share = confidence { $confidence }
decision-options = Options
decision-chosen = chosen
decision-reason = Reason
decision-ballots = Votes
vote-approve = approves
vote-reject = rejects
decision-your-vote = Your vote
decision-choose = Choose an option
decision-approve = Approve
decision-reject = Reject
decision-reject-reason = Why reject?
decision-trail = Trail in the audit chain
verdict-allowed = allowed
verdict-denied = denied
verdict-by = by
verdict-no-policy = no policy permits it
register-title = Decision register
register-csv = Register as CSV
register-decided = Decided
register-recommended = With an AI recommendation
register-followed = Recommendations followed
spaces-title = Decision spaces
spaces-lede = A decision space says which decisions an AI worker may make, may only prepare, or must leave to people — in a Cedar policy — and which principles its work follows.
spaces-none = No decision spaces yet.
space-version = version { $version }
space-saved = Saved. The new version is in the audit chain.
space-principles = Principles (one per line)
space-policy = Policy (Cedar)
space-quorum = Approvals needed
space-save = Save
simulate-title = Try a decision
simulate-lede = Routes an imagined decision by the policy in the editor, without saving anything.
simulate-submit = Simulate
simulate-result = Simulation
simulate-quorum = { $quorum } approvals needed

## Ledger
ledger-title = Ledger & budgets
ledger-group = Group spend by
ledger-by-team = Team
ledger-by-objective = Objective
ledger-by-worker = Worker
ledger-by-model = Model
ledger-spend-days = Spend over the last { $days } days
ledger-empty = Nothing was spent in this time.
ledger-cost = Cost
ledger-other = other
ledger-unassigned = not assigned
ledger-totals = Settled in all: { $settled } for { $tokens } tokens; { $open } open reservations.
budgets-title = Budgets
budgets-none = No budgets yet.
budget-name = Budget
budget-scope = For
budget-period = Period
budget-used = Used
budget-state = State
budget-hard = hard
budget-state-ok = within
budget-state-warn = past warn line
budget-state-exhausted = exhausted
budget-scope-org = the org
budget-scope-team = a team
budget-scope-objective = an objective
budget-scope-worker = a worker
budget-period-month = month
budget-period-quarter = quarter
budget-period-lifetime = lifetime

## Audit
audit-title = Audit
audit-verified = The chain verifies: { $count } events, none altered or missing.
audit-walked-whole = (walked whole { $when }; the new entries since)
audit-broken = The chain is broken at event { $seq }: { $reason }
audit-action = Action
audit-subject = Subject
audit-when = When
audit-who = Who
audit-hash = Hash
audit-none = No events match.
audit-pages = Pages
audit-older = older
audit-newer = newer

## Alerts
nav-alerts = Alerts
alerts-title = Alerts
alerts-all = All alerts, newest first
alerts-signal = Signal
alerts-why = Why
alerts-concerns = Concerns
alerts-concerns-org = the org
alerts-raised = Raised
alerts-state = State
alerts-open = open
alerts-cleared = cleared
home-alerts-all = All alerts
home-alerts-mine = About you and your teams
home-alerts-none-mine = No alert concerns you or your teams.
home-alerts-others = { $count ->
    [one] one more open alert in the org
   *[other] { $count } more open alerts in the org
}
alerts-mine = Alerts about you and your teams, newest first
alerts-scope = Show
alerts-scope-all = all
alerts-scope-mine = mine
webhooks-title = Webhooks
webhooks-intro = Every new alert is sent to these webhooks (Slack or Microsoft Teams). Failed deliveries are retried.
webhooks-none = No webhooks yet.
webhooks-delete = Remove webhook
webhooks-deliveries = Latest deliveries
webhooks-no-deliveries = Nothing delivered yet.
webhooks-attempts = Attempts
webhooks-when = When
webhooks-error = Error
webhooks-add = Add a webhook
webhooks-name = Name
webhooks-format = Format
webhooks-url = Webhook URL
webhooks-locale = Language of its messages
webhooks-team = For
webhooks-team-all = every alert
webhooks-for-team = alerts of { $team } and below
webhooks-save = Add
delivery-pending = pending
delivery-delivered = delivered
delivery-failed = failed

## Providers and models (/providers)
ledger-sections = Sections
providers-title = Providers & models
providers-list = Connected providers
providers-intro = Where AI work runs, what its tokens cost, and how long a call waits on a provider. Keys are never shown.
providers-none = No provider yet. Without one, no AI worker can work.
providers-kind-openai = OpenAI-compatible
providers-kind-embedded = Embedded model
providers-base-url = Address (base URL)
providers-api-key = Key
providers-api-key-env = Key from environment variable
providers-key-env = from the environment variable { $var }
providers-key-stored = stored (never shown)
providers-key-none = none
providers-limits = Waiting times
providers-limits-are = connect { $connect } · first answer { $first_byte } · between two pieces { $idle } · whole call { $deadline }
providers-limits-change = Change waiting times
providers-limits-intro = A provider that does not answer holds a call, and its reserved budget, at most this long. Each time holds on its own; the whole call's deadline ends it first.
providers-limits-save = Save waiting times
providers-limit-connect = Connect (seconds)
providers-limit-first-byte = Until the first answer (seconds)
providers-limit-idle = Between two pieces of an answer (seconds)
providers-limit-deadline = Whole call with retries (seconds)
providers-models = Models and prices per million tokens
providers-no-models = No models with prices yet. A call needs a priced model so that budgets hold.
providers-model = Model
providers-price-input = Input
providers-price-cached = Cached input
providers-price-cached-default = same as input
providers-price-output = Output
providers-model-change = Add a model or change prices
providers-model-intro = Prices per million tokens in the org's currency, e.g. 0.15. An existing model gets the new prices for every later call.
providers-model-save = Save model
providers-add = Add a provider
providers-add-intro = An OpenAI-compatible server (e.g. vLLM, Ollama or a cloud provider) needs its address and usually a key; the embedded model needs neither.
providers-name = Name
providers-kind = Kind
providers-add-save = Add provider
seconds = { $n ->
    [one] { $n } second
   *[other] { $n } seconds
}

## Work levers
work-new = Create work
work-new-title = Title
work-new-description = Description
work-new-no-team = no team
work-new-nobody = nobody
work-new-ai-hint = Work that is “ready” in an AI worker's hands starts at once: its work order is written and run.
work-new-save = Create work
work-move = Move
work-move-label = Move “{ $title }” to
work-assign = Hand to
work-assign-save = Hand over

## Objective levers
objective-new = Create an objective
objective-new-child = Create an objective below this one
objective-title = Objective
objective-period-start = Start
objective-period-end = End
objective-new-save = Create objective
objective-status = Status
objective-status-active = active
objective-status-achieved = achieved
objective-status-dropped = dropped
objective-status-save = Save status
kr-new = Add a key result
kr-title = Key result
kr-baseline = Baseline
kr-target = Target
kr-unit = Unit
kr-new-save = Add key result
objective-edit = Edit the objective
objective-edit-save = Save changes
objective-parent-none = none (a top objective)
kr-edit = Change the key result
kr-edit-save = Save changes
kr-target-reason = Why the target moves
kr-target-reason-hint = Stays visible next to the old target.
kr-target-moved = Target moved from { $from } to { $to }
kr-target-first = first { $target }
kr-target-moves = { $count ->
    [one] one target move
   *[other] { $count } target moves
}

## People and teams (/people)
nav-people = Team
people-title = People and teams
people-teams = Teams
people-teams-none = No teams yet.
people-team = Team
people-lead = Lead
people-parent = Parent team
people-parent-none = none
people-team-new = Create a team
people-team-save = Create team
people-members = Members, people and AI
people-name = Name
people-role = Role
people-runs-on = Email or model
people-actions = Actions
people-token = Issue token
people-token-for = Issue token for { $name }
people-token-label = issued in the cockpit
people-token-issued = New API token for { $name }
people-token-hint = It is shown only now; only its fingerprint is kept. Give it to the agent as OPENAI_API_KEY, with this server's address and /v1.
people-invite = Invite a person
people-invite-intro = The person signs in with their email and an initial password that is shown only once.
people-email = Email
people-invite-save = Invite
people-invited = Initial password for { $name }
people-invited-hint = It is shown only now. Hand it over in person; `tutti member set-password` changes it.
people-worker = Add an AI worker
people-worker-intro = Role card, model, how many runs at once, and if you like a monthly budget that holds.
people-worker-no-models = No priced model yet: add one under Providers & models first.
people-role-card = Role card
people-model = Provider / model
people-concurrency = Runs at once
people-budget = Monthly budget (optional)
people-budget-tokens = Tokens per month
people-budget-cost = Cost per month
people-budget-name = Monthly budget { $name }
people-worker-save = Add AI worker
role-owner = Owner
role-admin = Admin
role-lead = Team lead
role-member = Member
role-viewer = Viewer

## Budget lever
budget-new = Set a budget
budget-new-tokens = Tokens at most
budget-new-cost = Cost at most
budget-new-warn = Warn from (percent)
budget-new-hard = hard: refuse calls that could pass it
budget-new-save = Set budget

## Decision levers
decision-raise = Raise a decision
decision-raise-lede = This space's policy routes it at once: the AI decides, prepares, or people decide.
decision-question = Question
decision-context = Background
decision-options-lines = Options, one per line
decision-raise-save = Raise
decision-outcome = How did it turn out?
decision-outcome-lede = Looking back shows in the register which decisions held up.
decision-outcome-was = The decision was
decision-outcome-note = Note
decision-outcome-save = Save review
outcome-good = good
outcome-bad = not good
outcome-unclear = still unclear

## Space lever
space-new = Create a decision space
space-new-lede = A space says which decisions an AI may make, may only prepare, or must leave to people. It starts from a template; its policy can be edited in the space afterwards.
space-name = Name
space-template = Template
space-template-discounts = AI decides small reversible amounts, prepares the rest for two people
space-template-prepare-only = AI prepares every decision, people decide
space-template-people-only = Only people decide
space-new-save = Create space

## Service (/service)
nav-service = Service
service-title = Service and promises
service-lede = Which promises do we make to customers, who checks they can be kept, and which are shaky right now?
promises-urgent = At risk or overdue
promises-urgent-none = No open promise is at risk. Good.
promises-urgent-caption = Open promises with less than a quarter of their time left, or past their due time
promises-broken = Broken in the last 7 days
promises-broken-none = No promise was broken in the last 7 days.
promises-open = Open and on track
promises-more = There are more open promises than this page shows (the soonest due first); all of them with `tutti promise list --unfinished`.
promises-open-none = No other open promises.
promises-open-caption = Open and paused promises on track
promise-title = Promise
promise-customer = Customer
promise-due = Due
promise-due-utc = Due (UTC)
promise-state = State
promise-teams = Made → kept by
promise-steps = Act
promise-moved-by-pause = moved by a pause
promise-at-risk = at risk
promise-overdue = overdue
promise-state-open = open
promise-state-paused = paused
promise-state-kept = kept
promise-state-broken = broken
feasibility-pending = not signed off yet
feasibility-feasible = feasible
feasibility-not_feasible = not feasible
promise-feasible = Feasible
promise-not-feasible = Not feasible
promise-why-not = Why not?
promise-pause = Pause (waiting on the customer)
promise-resume = Resume
promise-keep = Kept
promise-break = Broken
promise-why-broken = What happened?
promise-new = Record a promise
promise-made-by = Made by team
promise-keeper = Kept by team
promise-product = Service product
promise-new-save = Record promise
service-catalogue = Service catalogue
service-catalogue-none = No service products yet.
service-name = Service product
service-kind = Kind
service-kind-preventive = planned
service-kind-reactive = reactive
service-for = For
service-levels = Service levels promised
service-levels-lines = Service levels, one per line
service-description = Description
service-new = Add a service product
service-new-save = Add service product
service-load = Planned or reactive
service-load-share = Reactive share of new work this week: { $week }, on average over the last 12 weeks: { $average }.
service-load-chart = New work per week, planned and unplanned
