"""The one catalogue of every string the reports show, in French (default) and English.

Templates never hold prose: they call `t("key")`, so that a missing translation
is a KeyError in the tests rather than a mixed-language page. Values that come
from results.json (a function, a verdict, a profile's enum value) go through
`t.label(prefix, value)`, which translates known values and shows unknown ones
as they are (escaped by the template like any other data).
"""

from __future__ import annotations

from typing import Final

from conformance.core.bilingual import FUNCTION_NAMES
from conformance.core.vocabulary import DEFAULT_LANGUAGE, LANGUAGES
from conformance.errors import UserError
from conformance.results import SUITE_ENGINE_VERSION

__all__ = ["CATALOGUE", "DEFAULT_LANGUAGE", "LANGUAGES", "Translator"]

# key -> (French, English)
CATALOGUE: Final[dict[str, tuple[str, str]]] = {
    "sep": (" : ", ": "),  # between a label and its value
    # page titles and navigation
    "suite": (
        "osm-conformance · messagerie sécurisée de santé",
        "osm-conformance · secure health messaging",
    ),
    "title.matrix": ("Matrice d'interopérabilité", "Interoperability matrix"),
    "title.comparison": (
        "Comment choisir ? Le tableau comparatif",
        "How to choose? The comparison table",
    ),
    "title.product": ("Fiche produit", "Product sheet"),
    "nav.matrix": ("Matrice", "Matrix"),
    "nav.comparison": ("Comparatif", "Comparison"),
    "nav.products": ("Produits", "Products"),
    "nav.refusals": ("Refus", "Refusals"),
    "nav.gateways": ("Passerelles", "Gateways"),
    "footer.rendered": (
        "Rendu depuis results.json ({format}) par osm-conformance.",
        "Rendered from results.json ({format}) by osm-conformance.",
    ),
    # run information
    "run.title": ("Exécution", "Run"),
    "run.seed": ("Graine", "Seed"),
    "run.started": ("Début", "Started"),
    "run.finished": ("Fin", "Finished"),
    "run.duration": ("Durée", "Duration"),
    "run.seconds": ("{value} s", "{value} s"),
    "run.examples": ("Exemples par cellule", "Examples per cell"),
    "run.suite": ("Version de la suite", "Suite version"),
    "run.engines": ("Moteurs", "Engines"),
    # the English is what the agent wrote in results.json (ProfileAgent.version), as is
    "run.engine_suite": (
        "moteur d'osm-conformance {version}, profil {profile}",
        SUITE_ENGINE_VERSION,
    ),
    "run.validation_time": ("Date de validation", "Validation time"),
    "run.policy": ("Politique", "Policy"),
    "run.policy_help": (
        "la politique (run --policy) que chaque destinataire simulé applique et sous "
        "laquelle le validateur juge chaque message : les verdicts en dépendent",
        "the policy (run --policy) every profile-driven receiver applies and the "
        "validator judges each message under: the verdicts depend on it",
    ),
    "run.complete": ("Exécution complète", "Complete run"),
    "run.incomplete": (
        "Exécution INCOMPLÈTE : elle a été interrompue ; les cellules absentes n'ont "
        "pas été exécutées et les résultats ci-dessous sont partiels.",
        "INCOMPLETE run: it was interrupted; missing cells were not run and the "
        "results below are partial.",
    ),
    "run.incomplete_short": ("incomplète", "incomplete"),
    "run.cells": ("{done} cellules sur {total}", "{done} of {total} cells"),
    # the matrix
    "matrix.intro": (
        "Chaque ligne est un expéditeur, chaque colonne un destinataire. Une cellule "
        "donne l'interopérabilité de la paire puis une marque par fonction, dans "
        "l'ordre de la légende. Cliquez une cellule pour son détail.",
        "Each row is a sender, each column a receiver. A cell gives the pair's "
        "interoperability, then one mark per function, in the legend's order. "
        "Click a cell for its detail.",
    ),
    "matrix.corner": ("Expéditeur ↓ · Destinataire →", "Sender ↓ · Receiver →"),
    "matrix.open": ("Détail de {sender} → {receiver}", "Detail of {sender} → {receiver}"),
    "matrix.empty": ("Aucun agent dans ce résultat.", "No agent in these results."),
    "legend.title": ("Légende", "Legend"),
    "legend.functions": ("Fonctions, dans l'ordre des marques", "Functions, in mark order"),
    "legend.verdicts": ("Verdicts", "Verdicts"),
    "legend.interop": ("Interopérabilité de la paire", "Pair interoperability"),
    "legend.marks": ("Autres marques", "Other marks"),
    "filter.title": ("Filtres", "Filters"),
    "filter.functions": ("Fonctions", "Functions"),
    "filter.homologation": ("Homologation", "Homologation"),
    "filter.all": ("tous les produits", "all products"),
    "filter.homologated": ("homologués OSM seulement", "OSM homologated only"),
    "filter.not_homologated": ("non homologués seulement", "not homologated only"),
    "filter.engines": ("montrer les moteurs réels", "show the real engines"),
    "filter.contradictions": ("seulement les contradictions", "contradictions only"),
    # verdicts, interoperability, functions, services
    "verdict.pass": ("réussi", "pass"),
    "verdict.partial": ("partiel", "partial"),
    "verdict.fail": ("échec", "fail"),
    "verdict.unsupported": ("non pris en charge", "unsupported"),
    "verdict.error": ("erreur du banc", "harness error"),
    "verdict.missing": ("non exécuté", "not run"),
    "verdict_help.pass": (
        "tous les exemples passent avec tous les services promis",
        "every example went through with every promised service",
    ),
    "verdict_help.partial": (
        "l'exemple de base passe, un exemple généré échoue",
        "the basic example passes, a generated one fails",
    ),
    "verdict_help.fail": ("l'exemple de base échoue", "the basic example fails"),
    "verdict_help.unsupported": (
        "un côté déclare ne pas faire cette fonction",
        "one side declares it does not do this function",
    ),
    "verdict_help.error": (
        "le banc de test lui-même a échoué (pas un échec du produit)",
        "the harness itself broke (not a product failure)",
    ),
    "verdict_help.missing": ("cellule absente des résultats", "cell absent from the results"),
    "interop.full": ("totale", "full"),
    "interop.partial": ("partielle", "partial"),
    "interop.none": ("aucune", "none"),
    "interop.unknown": ("non évaluée", "not assessed"),
    "interop_help.full": ("toutes ses fonctions passent", "all its functions pass"),
    "interop_help.partial": ("certaines passent", "some pass"),
    "interop_help.none": ("aucune ne passe", "none passes"),
    # the functions: conformance/core/bilingual.py (the scenario descriptions say them too)
    **{f"fn.{fn}": (name.fr, name.en) for fn, name in FUNCTION_NAMES.items()},
    "svc.authentication": ("authentification", "authentication"),
    "svc.integrity": ("intégrité", "integrity"),
    "svc.non_repudiation": ("non-répudiation", "non-repudiation"),
    "svc.confidentiality": ("confidentialité", "confidentiality"),
    "svc.held": ("assuré", "held"),
    "svc.lost": ("requis, non assuré", "required, not held"),
    "svc.not_required": ("non requis", "not required"),
    # marks
    "mark.contradiction": ("contredit l'annonce publiée", "contradicts the published claim"),
    "mark.nonconformant": ("message non conforme", "non-conformant message"),
    "mark.nonconformant_help": (
        "le message de base de l'émetteur enfreint ces règles du validateur sous la "
        "politique du passage (le verdict n'en tient pas compte)",
        "the sender's basic message breaks these rules of the validator under the run's "
        "policy (the verdict does not count them)",
    ),
    "mark.waived": ("dérogation", "waived"),
    "detail.waiver": (
        "{verdict} : {reason} (jusqu'au {expires}, {where})",
        "{verdict}: {reason} (until {expires}, {where})",
    ),
    "mark.by_machine": ("relevé par programme", "machine-observed"),
    "mark.by_machine_help": (
        "produit réel non piloté par la suite : ses messages lus par la suite (vectors "
        "verify), ou un relevé écrit par un programme (vectors import --observed machine)",
        "a real product the suite does not drive: its messages read by the suite (vectors "
        "verify), or a record a program wrote (vectors import --observed machine)",
    ),
    "mark.changed": ("changé depuis la référence", "changed since the baseline"),
    "mark.suite_lookup": (
        "certificat du destinataire trouvé par la suite, pas par l'émetteur",
        "recipient's certificate looked up by the suite, not by the sender",
    ),
    "mark.suite_lookup_failed": (
        "la recherche de la suite pour l'émetteur a échoué : rien de l'émetteur n'est mesuré",
        "the suite's lookup for the sender failed: nothing of the sender is measured",
    ),
    "mark.assumed": (
        "fait supposé (absent du document source)",
        "assumed fact (not in the source document)",
    ),
    # cell detail
    "detail.pair": ("{sender} → {receiver}", "{sender} → {receiver}"),
    "detail.interop": ("Interopérabilité", "Interoperability"),
    "detail.expected_interop": ("annoncée : {value}", "claimed: {value}"),
    "detail.function": ("Fonction", "Function"),
    "detail.verdict": ("Verdict", "Verdict"),
    "detail.expected": ("Attendu", "Expected"),
    "detail.reason": ("Raison", "Reason"),
    "detail.services": ("Services", "Services"),
    "detail.counterexample": ("Contre-exemple", "Counterexample"),
    "detail.evidence": ("Preuves", "Evidence"),
    "detail.examples": ("Exemples", "Examples"),
    "detail.checks": ("Contrôles du validateur", "Validator checks"),
    "detail.source": ("source : {source}", "source: {source}"),
    "detail.close": ("Fermer", "Close"),
    "detail.none": ("—", "—"),
    "detail.was": ("avant : {value}", "before: {value}"),
    # contradictions
    "ctr.title": (
        "Observations qui contredisent une annonce publiée",
        "Observations that contradict a published claim",
    ),
    "ctr.none": (
        "Aucune observation ne contredit les annonces publiées.",
        "No observation contradicts the published claims.",
    ),
    "ctr.pair": ("Paire", "Pair"),
    "ctr.function": ("Fonction", "Function"),
    "ctr.expected": ("Annoncé", "Claimed"),
    "ctr.observed": ("Observé", "Observed"),
    "ctr.source": ("Source", "Source"),
    "ctr.whole_pair": ("toute la paire", "whole pair"),
    # baseline diff
    "base.title": ("Changements depuis la référence", "Changes since the baseline"),
    "base.intro": (
        "Référence : exécution du {started}, graine {seed}.",
        "Baseline: run of {started}, seed {seed}.",
    ),
    "base.none": ("Aucun verdict n'a changé.", "No verdict changed."),
    "base.kind": ("Nature", "Kind"),
    "base.before": ("Avant", "Before"),
    "base.after": ("Après", "After"),
    "base.regression": ("régression", "regression"),
    "base.improvement": ("amélioration", "improvement"),
    "base.other": ("changement", "change"),
    "base.intermittent": ("intermittent", "intermittent"),
    "base.rejection": ("{receiver}, messages hostiles", "{receiver}, hostile messages"),
    "base.intermittent_note": (
        "{n} changement(s) intermittent(s) : un récepteur a accepté un message hostile, "
        "mais pas une seconde fois quand le même message lui a été rejoué (openssl qui "
        "déchiffre avec une clé aléatoire, par exemple). L'acceptation est réelle, mais "
        "une autre exécution du même produit peut refuser : ce n'est ni une régression "
        "ni une amélioration du produit.",
        "{n} intermittent change(s): a receiver accepted a hostile message, but not a "
        "second time when the same message was replayed to it (openssl decrypting with a "
        "random key, for instance). The acceptance is real, but another run of the same "
        "product may refuse: it is neither a regression nor an improvement of the product.",
    ),
    "base.summary": (
        "{regressions} régression(s), {improvements} amélioration(s), "
        "{other} autre(s) changement(s)",
        "{regressions} regression(s), {improvements} improvement(s), {other} other change(s)",
    ),
    # comparison table
    "cmp.intro": (
        "Le tableau « Comment choisir ? » du document source (étude ESPS, juillet 2008), "
        "produits en colonnes. La ligne Interopérabilité vient de la matrice : mesurée "
        "pour un produit réel, simulée pour un produit joué par son profil ; "
        "l'annonce publiée est rappelée quand elle diffère. Survolez un fait pour sa "
        "source ; les notes en bas de page les donnent toutes.",
        'The source document\'s table "Comment choisir ?" (ESPS study, July 2008), '
        "products as columns. The Interoperability row comes from the matrix: measured "
        "for a real product, simulated for a product played by its profile; the "
        "published claim is recalled where it differs. Hover over a fact for its source; "
        "the footnotes give them all.",
    ),
    "cmp.criterion": ("Critère", "Criterion"),
    "cmp.measured": ("mesurée", "measured"),
    "cmp.claimed": ("annoncé : {value}", "claimed: {value}"),
    "cmp.no_fact": ("non renseigné", "not given"),
    "cmp.no_product": (
        "Aucun produit avec des critères dans ce résultat.",
        "No product with criteria in these results.",
    ),
    "cmp.sources": ("Sources", "Sources"),
    "cmp.assumed_note": (
        "* fait supposé : absent du document source, valeur plausible choisie par le profil.",
        "* assumed fact: not in the source document, a plausible value chosen by the profile.",
    ),
    "cmp.interop_rule": (
        "Interopérabilité d'après la matrice : totale si toutes les paires du produit "
        "(dans les deux sens) avec les produits homologués OSM sont totales, aucune si "
        "aucune ne passe, partielle sinon.",
        "Interoperability from the matrix: full if all the product's pairs (both ways) with the "
        "OSM homologated products are full, none if none passes, partial otherwise.",
    ),
    "crit.interoperability": ("Interopérabilité", "Interoperability"),
    "crit.compliance": ("Conformité à la réglementation", "Compliance with regulations"),
    "crit.proprietary": ("Solution propriétaire", "Proprietary solution"),
    "crit.macintosh": ("Support du Macintosh", "Macintosh support"),
    "crit.lgc_integration": ("Intégration dans les LGC", "Integration in practice software"),
    "crit.ease_of_installation": ("Facilité d'installation", "Ease of installation"),
    "crit.ease_of_use": ("Facilité d'utilisation", "Ease of use"),
    "crit.minimum_configuration": (
        "Configuration minimum du poste (RAM, place disque)",
        "Minimum configuration (RAM, disk space)",
    ),
    "value.True": ("Oui", "Yes"),
    "value.False": ("Non", "No"),
    "value.yes": ("Oui", "Yes"),
    "value.no": ("Non", "No"),
    "value.yes-but": ("Oui mais", "Yes but"),
    "value.full": ("Oui", "Yes"),
    "value.partial": ("Partielle", "Partial"),
    "value.none": ("Aucune", "None"),
    "value.relay": ("Relais", "Relay"),
    "value.integrated": ("Intégré", "Integrated"),
    "value.both": ("Relais et intégré", "Relay and integrated"),
    "practice.title": (
        "Les logiciels de gestion de cabinet (LGC)",
        "Practice management software (LGC)",
    ),
    "practice.intro": (
        "Développements en cours (ou terminés), d'après le document source.",
        "Developments under way (or finished), from the source document.",
    ),
    "practice.editor": ("Éditeur de LGC", "Software editor"),
    "practice.statement": (
        "Proposera à terme une messagerie homologable OSM",
        "Will offer an OSM-homologable secure mail",
    ),
    "practice.status": ("Statut", "Status"),
    "practice.none": (
        "Pas de table des LGC dans ce résultat.",
        "No practice-software table in these results.",
    ),
    # agents and product sheets
    "homol.osm": ("homologué OSM", "OSM homologated"),
    "homol.pending": ("homologation en cours", "homologation pending"),
    "homol.none": ("non homologué", "not homologated"),
    "homol.not-applicable": ("sans objet", "not applicable"),
    "prod.vendor": ("Éditeur", "Vendor"),
    "prod.kind": ("Type", "Kind"),
    "prod.homologation": ("Homologation", "Homologation"),
    "prod.engine": ("Moteur", "Engine"),
    "prod.keys": ("Clés privées", "Private keys"),
    "prod.keys.card": (
        "sur la carte CPS (SoftHSM2 en tient lieu ici)",
        "on the CPS card (SoftHSM2 standing in here)",
    ),
    "prod.keys.software": (
        "dans le logiciel (ses fichiers ou son magasin de clés)",
        "in software (its files or its own key store)",
    ),
    "prod.sends": ("Ce qu'il envoie", "What it sends"),
    "prod.accepts": ("Ce qu'il accepte", "What it accepts"),
    "prod.nothing": ("rien de déclaré", "nothing declared"),
    "prod.criteria": ("Critères du tableau comparatif", "Comparison table criteria"),
    "prod.as_sender": (
        "Comme expéditeur (sa ligne de la matrice)",
        "As sender (its row of the matrix)",
    ),
    "prod.as_receiver": (
        "Comme destinataire (sa colonne de la matrice)",
        "As receiver (its column of the matrix)",
    ),
    "prod.peer": ("Correspondant", "Peer"),
    "prod.findings": ("Constats", "Findings"),
    "prod.no_findings": (
        "Aucun constat : ni échec, ni résultat partiel, ni contradiction.",
        "No finding: no failure, no partial result, no contradiction.",
    ),
    "prod.all": ("Tous les produits", "All products"),
    "prod.measured_interop": (
        "Interopérabilité (d'après la matrice)",
        "Interoperability (from the matrix)",
    ),
    # what that interoperability measured (ReportModel.interop_measure)
    "prod.interop_reference": ("référence de la suite", "suite reference"),
    "prod.interop_reference_help": (
        "l'agent de référence de la suite, pas un produit : cette interopérabilité est celle "
        "de la suite elle-même",
        "the suite's reference agent, not a product: this interoperability is the suite's own",
    ),
    "prod.interop_engine_help": (
        "mesurée : ce vrai moteur a tourné ici, à chaque échange",
        "measured: this real engine ran here, in every exchange",
    ),
    "prod.interop_against_simulated": (
        "face aux profils simulés de {simulated} produit(s) : aucune copie n'en a tourné",
        "against the simulated profiles of {simulated} product(s): no copy of them ran",
    ),
    "prod.interop_against_mixed": (
        "face aux profils simulés de {simulated} produit(s) et à {real} produit(s) réel(s)",
        "against the simulated profiles of {simulated} product(s) and {real} real one(s)",
    ),
    # measurement (issue 16): what was measured, assumed facts, expected failures, coverage
    "measure.simulated": ("simulé", "simulated"),
    "measure.model": ("modèle", "model"),
    "measure.suite-reference": ("référence de la suite", "suite reference"),
    "measure.real-engine": ("moteur réel", "real engine"),
    "measure.real-adapter": ("produit réel (adaptateur)", "real product (adapter)"),
    "measure.real-vectors": ("produit réel (à la main)", "real product (by hand)"),
    "measure_help.simulated": (
        "profil joué par le moteur de la suite : aucune copie du produit n'a tourné",
        "a profile played by the suite's engine: no copy of the product ran",
    ),
    "measure_help.model": (
        "modèle d'Apicrypt écrit par le projet, pas le format réel",
        "the project's model of Apicrypt, not the real format",
    ),
    "measure_help.suite-reference": (
        "agent de référence de la suite (moteur intégré), pas un produit",
        "the suite's own reference agent (built-in engine), not a product",
    ),
    "measure_help.real-engine": (
        "un vrai moteur S/MIME lancé ici (OpenSSL, NSS, gpgsm, Go pkcs7, GnuTLS, PKI.js, "
        "BouncyCastle)",
        "a real S/MIME engine run here (OpenSSL, NSS, gpgsm, Go pkcs7, GnuTLS, PKI.js, "
        "BouncyCastle)",
    ),
    "measure_help.real-adapter": (
        "le vrai produit, piloté par son adaptateur",
        "the real product, driven through its adapter",
    ),
    "measure_help.real-vectors": (
        "messages du vrai produit, écrits ou ouverts à la main",
        "messages of the real product, written or opened by hand",
    ),
    # engine.mime: suite (the engine does CMS only; the suite writes the MIME around it)
    "mime.cms_by": ("CMS par {name}", "CMS by {name}"),
    "mime_help.suite": (
        "ce moteur ne fait que le CMS : le MIME S/MIME autour est écrit par la suite",
        "this engine does CMS only: the S/MIME MIME around it is written by the suite",
    ),
    "legend.measurement": ("Ce qui a tourné", "What ran"),
    "filter.measurement": ("Mesure", "Measurement"),
    "filter.real": ("implémentations réelles seulement", "real implementations only"),
    "prod.measurement": ("Ce qui a tourné", "What ran"),
    "detail.measurement": ("Ce qui a tourné", "What ran"),
    "detail.sends": ("{name} envoie", "{name} sends"),
    "detail.accepts": ("{name} accepte", "{name} accepts"),
    "interop.not-observed": ("non observée", "not observed"),
    "interop_help.not-observed": (
        "toutes ses cellules sont des erreurs du banc : rien n'a été observé",
        "every cell is a harness error: nothing was observed",
    ),
    "coverage.functions": (
        "{observed}/{total} fonctions observées",
        "{observed}/{total} functions observed",
    ),
    "coverage.help": (
        "les fonctions non observées (erreurs du banc, cellules non exécutées) ne comptent "
        "pas ; une paire n'est totale que si toutes ses fonctions ont été observées",
        "functions not observed (harness errors, cells not run) do not count; a pair is "
        "full only when every one of its functions was observed",
    ),
    "expected.word": ("attendu", "expected"),
    "expected.help": (
        "échec prévu par le document source : un constat attendu, pas une contradiction",
        "a failure the source document predicts: an expected finding, not a contradiction",
    ),
    "prod.expected": (
        "Échecs attendus (prévus par le document source)",
        "Expected failures (predicted by the source document)",
    ),
    "cmp.simulated": ("simulée", "simulated"),
    "cmp.from_matrix": ("d'après la matrice", "from the matrix"),
    "cmp.measured_help": (
        "mesurée : le produit lui-même a tourné (adaptateur ou vecteurs)",
        "measured: the product itself ran (adapter or vectors)",
    ),
    "cmp.simulated_help": (
        "simulée : aucune copie du produit n'a tourné ; son profil joue à sa place",
        "simulated: no copy of the product ran; its profile plays in its place",
    ),
    "cmp.simulated_note": (
        "Interopérabilité simulée : aucune copie des produits de 2008 n'existe ; leurs "
        "profils sont construits à partir des annonces du document source et joués par le "
        "moteur de la suite, si bien que cette ligne dit ce que donnent ces profils, pas ce "
        "qu'ont fait les produits.",
        "Simulated interoperability: no copy of the 2008 products exists; their profiles are "
        "built from the source document's claims and played by the suite's engine, so this "
        "row says what those profiles give, not what the products did.",
    ),
    "assumed.word": ("supposé", "assumed"),
    "assumed.why": ("supposé : {reason}", "assumed: {reason}"),
    "assumed.note": (
        "supposé : aucune source ne donne ce fait ; le profil a choisi une valeur plausible "
        "(la raison s'affiche au survol et à l'impression).",
        "assumed: no source gives this fact; the profile chose a plausible value (the "
        "reason shows on hover and in print).",
    ),
    # a verdict resting on an assumed fact (results.Cell.rests_on)
    "mark.rests_assumed": ("repose sur une supposition", "rests on an assumption"),
    "detail.rests_assumed": ("Repose sur une supposition", "Rests on an assumption"),
    "rests.profile": ("{agent} · {field} : {value}", "{agent} · {field}: {value}"),
    "rests.directory": (
        "la disposition de l'annuaire de la suite, supposée (aucune source ne la donne ; "
        "à vérifier sur celle de l'annuaire réel)",
        "the layout of the suite's directory, assumed (no source gives it; to check against "
        "the real directory's)",
    ),
    "prod.suite_looks_up": (
        "la suite y cherche pour lui ({why}) et lui donne le certificat",
        "the suite looks there on its behalf ({why}) and hands it the certificate",
    ),
    # the rejection matrix ("Refus" page, marks in the matrix and on product sheets)
    "title.refusals": ("Refus des messages hostiles", "Refusal of hostile messages"),
    "ref.intro": (
        "Chaque ligne est un destinataire, chaque colonne une classe de messages "
        "hostiles (altérés, forgés, signés par un certificat défectueux...) qu'il doit "
        "refuser, ou délivrer sans prétendre au service que l'attaque casse. Une cellule "
        "ne vaut « refuse » que si tous les cas de sa classe sont refusés. Cliquez une "
        "cellule pour ses cas, le message hostile et ce que le destinataire a répondu.",
        "Each row is a receiver, each column a class of hostile messages (altered, "
        "forged, signed with a defective certificate...) it must refuse, or deliver "
        "without claiming the service the attack breaks. A cell is “refuses” only "
        "when every case of its class is refused. Click a cell for its cases, the "
        "hostile message and what the receiver said.",
    ),
    "ref.policy": ("Politique", "Policy"),
    "ref.wall": ("Durée des refus", "Refusal run time"),
    "ref.none": (
        "Ces résultats n'ont pas de matrice des refus : {why}.",
        "These results have no rejection matrix: {why}.",
    ),
    "ref.corner": ("Destinataire ↓ · Classe →", "Receiver ↓ · Class →"),
    "ref.open": ("Détail de {receiver} · {cls}", "Detail of {receiver} · {cls}"),
    "ref.case": ("Cas", "Case"),
    "ref.producer": ("Message valide produit par", "Valid message made by"),
    "ref.expected": ("Attendu", "Expected"),
    "ref.outcome": ("Résultat", "Outcome"),
    "ref.variant": ("Variante", "Variant"),
    "ref.claimed": ("Services prétendus à tort", "Services wrongly claimed"),
    "ref.said": ("Réponse du destinataire", "What the receiver said"),
    # results.KeyTransportChange: the suite's choice, apart from what the receiver said
    "ref.key_transport": ("Transport de clé des enveloppes", "The envelopes' key transport"),
    "ref.key_transport_text": (
        "{used}, choisi par la suite : le message valide en {usual} n'est pas lu ({code}), "
        "en {used} il l'est",
        "{used}, chosen by the suite: the valid message with {usual} is not read ({code}), "
        "with {used} it is",
    ),
    "ref.key_transport_broke": (
        "{used}, essayé par la suite : le message valide en {usual} n'est pas lu ({code}), "
        "et le harnais du destinataire a échoué sur celui en {used} (une erreur interne, pas "
        "sa réponse)",
        "{used}, tried by the suite: the valid message with {usual} is not read ({code}), "
        "and the receiver's harness broke on the one with {used} (an internal error, not its "
        "answer)",
    ),
    "ref.seed": ("Graine (rejoue la variante)", "Seed (replays the variant)"),
    "ref.spec": ("Référence", "Reference"),
    "ref.examples": ("Variantes essayées", "Variants tried"),
    "ref.accepts_mark": ("accepte des messages hostiles", "accepts hostile messages"),
    "ref.product": ("Refus des messages hostiles", "Refusal of hostile messages"),
    # a receiver without a false accept, by what its verdicts measure (refusals.measure_group)
    "ref.product_none.real": (
        "Ce produit refuse tous les messages hostiles essayés.",
        "This product refuses every hostile message tried.",
    ),
    "ref.product_none.simulated": (
        "Son profil prédit le refus de tous les messages hostiles essayés (simulé : aucune "
        "copie du produit n'a tourné ; ce sont les vérifications que son profil lui prête, "
        "certaines supposées).",
        "Its profile predicts that every hostile message tried is refused (simulated: no "
        "copy of the product ran; these are the checks its profile gives it, some assumed).",
    ),
    "ref.product_none.reference": (
        "L'agent de référence de la suite (pas un produit) refuse tous les messages hostiles "
        "essayés.",
        "The suite's reference agent (not a product) refuses every hostile message tried.",
    ),
    "ref.product_none.unknown": (
        "Ce destinataire n'a accepté aucun des messages hostiles essayés.",
        "This receiver accepted none of the hostile messages tried.",
    ),
    # ... when some of its classes were passed by delivering (refusals.RefusalCellView.passed_as):
    # it accepted nothing, but did not refuse everything (the sheet's counts say how)
    "ref.product_none_passed.real": (
        "Ce produit n'accepte aucun des messages hostiles essayés.",
        "This product accepts none of the hostile messages tried.",
    ),
    "ref.product_none_passed.simulated": (
        "Son profil prédit qu'il n'accepte aucun des messages hostiles essayés (simulé : "
        "aucune copie du produit n'a tourné ; ce sont les vérifications que son profil lui "
        "prête, certaines supposées).",
        "Its profile predicts that none of the hostile messages tried is accepted "
        "(simulated: no copy of the product ran; these are the checks its profile gives it, "
        "some assumed).",
    ),
    "ref.product_none_passed.reference": (
        "L'agent de référence de la suite (pas un produit) n'accepte aucun des messages "
        "hostiles essayés.",
        "The suite's reference agent (not a product) accepts none of the hostile messages tried.",
    ),
    "ref.product_none_passed.unknown": (
        "Ce destinataire n'a accepté aucun des messages hostiles essayés.",
        "This receiver accepted none of the hostile messages tried.",
    ),
    "ref.product_none_untried": (
        "Aucun message hostile n'a pu lui être essayé (sans objet ou erreur du banc) : rien "
        "de ses refus n'est mesuré.",
        "No hostile message could be tried on it (not applicable, or harness errors): nothing "
        "of its refusals is measured.",
    ),
    # a receiver tried on no hostile message in this run (refusals.Untried): marked in the
    # matrix's column header and on its sheet, listed on the refusals page
    "ref.untried_mark": ("refus non essayés", "refusals not tried"),
    "ref.untried_line": (
        "Refus non essayés dans cette exécution : {why}.",
        "Refusals not tried in this run: {why}.",
    ),
    "ref.untried_help": (
        "cette exécution n'a essayé aucun message hostile sur ce destinataire : ses ✓ ne "
        "disent pas qu'il refuse (la raison au survol et sur la page des refus)",
        "this run tried no hostile message on this receiver: its ✓ do not say that it "
        "refuses (the reason on hover and on the refusals page)",
    ),
    "ref.untried_title": ("Destinataires non essayés", "Receivers not tried"),
    "ref.untried.no-rejections": (
        "la matrice des refus n'a pas tourné (--no-rejections)",
        "the rejection matrix did not run (--no-rejections)",
    ),
    "ref.untried.large-attachment": (
        "la matrice des refus ne tourne pas avec --large-attachment",
        "the rejection matrix does not run with --large-attachment",
    ),
    "ref.untried.not-a-run": (
        "ces résultats ne viennent pas d'un run ({mode} : aucun message hostile n'est envoyé)",
        "these results are not a run's ({mode}: no hostile message is sent)",
    ),
    "ref.untried.selection": (
        "hors de la sélection (--agent {agents} : seuls les agents nommés reçoivent les "
        "messages hostiles)",
        "outside the selection (--agent {agents}: only the agents named are sent hostile messages)",
    ),
    "ref.untried.interrupted": (
        "l'exécution a été interrompue avant ses cellules de refus",
        "the run was interrupted before its rejection cells",
    ),
    "ref.untried.absent": (
        "absent de la matrice des refus de cette exécution",
        "not in this run's rejection matrix",
    ),
    "ref.untried.nothing": (
        "aucun message hostile n'a pu lui être essayé (sans objet ou erreur du banc)",
        "no hostile message could be tried on it (not applicable, or harness errors)",
    ),
    # the page's headline, one line per measurement of the receivers, real ones first
    "ref.counts.real": ("mesuré ; {n} destinataire(s)", "measured; {n} receiver(s)"),
    "ref.counts.reference": (
        "la suite elle-même, pas un produit ; {n} destinataire(s)",
        "the suite itself, not a product; {n} receiver(s)",
    ),
    "ref.counts.simulated": (
        "prédiction de leurs profils, aucune copie des produits n'a tourné ; {n} destinataire(s)",
        "their profiles' prediction, no copy of the products ran; {n} receiver(s)",
    ),
    "ref.counts.unknown": (
        "inconnus des agents de l'exécution ; {n} destinataire(s)",
        "unknown to the run's agents; {n} receiver(s)",
    ),
    # the intermittent acceptances among a headline's accepting cells (refusals.HeadCount)
    "ref.counts_intermittent": ("(dont {n} intermittente(s))", "({n} intermittent)"),
    # a case passed by delivering the message (refusals.CaseView.passed_as)
    "ref.case_tolerated": ("toléré (politique)", "tolerated (policy)"),
    "ref.case_withheld": ("délivré sans le service cassé", "delivered without the broken service"),
    "ref.case_withheld_service": ("délivré sans {service}", "delivered without {service}"),
    "ref.legend_cases": ("Un cas réussi sans refus", "A case passed without a refusal"),
    "ref.case_withheld_help": (
        "le destinataire a délivré le message sans prétendre au service que l'attaque casse, "
        "ce qu'il doit faire",
        "the receiver delivered the message without claiming the service the attack breaks, "
        "as it must",
    ),
    "ref.case_tolerated_help": (
        "le destinataire a délivré le message avec ses services ; la politique {policy} ne "
        "fait qu'avertir de ce défaut, si bien que le cas réussit sans refus",
        "the receiver delivered the message with its services; the {policy} policy only "
        "warns of this defect, so the case passes without a refusal",
    ),
    # an acceptance not repeated on replay (RejectionCaseResult.repeated false)
    "ref.intermittent": ("accepte (intermittent)", "accepts (intermittent)"),
    "ref.intermittent_help": (
        "accepté une fois, pas à nouveau quand le même message hostile a été rejoué : "
        "l'acceptation compte, mais une autre exécution peut refuser",
        "accepted once, not again when the same hostile message was replayed: the "
        "acceptance counts, yet another run may refuse",
    ),
    "ref.sheet_intermittent": ("intermittent", "intermittent"),
    "ref.evidence_basic": ("Preuves de la variante de base", "Evidence of the basic variant"),
    "ref.evidence_kept": (
        "Preuves de la variante retenue par la recherche",
        "Evidence of the variant the search kept",
    ),
    # a false accept on the product sheet
    "ref.sheet_claimed": ("prétend à tort", "wrongly claims"),
    "ref.sheet_said": ("réponse", "answer"),
    "ref.sheet_producer": ("message valide de {name}", "valid message by {name}"),
    "ref.sheet_sep": (" ; ", "; "),
    "ref.to_page": ("Voir la page des refus", "See the refusals page"),
    "refusal.refuses": ("refuse", "refuses"),
    "refusal.accepts": ("accepte", "accepts"),
    "refusal.not-applicable": ("sans objet", "not applicable"),
    "refusal.error": ("erreur du banc", "harness error"),
    "refusal.missing": ("non exécuté", "not run"),
    "refusal_help.refuses": (
        "tous les cas sont refusés, délivrés sans le service cassé, ou tolérés par la politique",
        "every case is refused, delivered without the broken service, or tolerated by the policy",
    ),
    "refusal_help.accepts": (
        "au moins un message hostile accepté avec un service qu'il n'a pas",
        "at least one hostile message accepted with a service it does not have",
    ),
    "refusal_help.not-applicable": (
        "le destinataire ne fait pas la fonction de cette classe",
        "the receiver does not do this class's function",
    ),
    "refusal_help.error": (
        "le banc de test lui-même a échoué (pas un constat du produit)",
        "the harness itself broke (not a product finding)",
    ),
    "refusal_help.missing": ("cellule absente des résultats", "cell absent from the results"),
    "rcls.altered": ("altéré après signature", "altered after signing"),
    "rcls.wrong-signer": ("mauvais signataire", "wrong signer"),
    "rcls.defective-signer": ("certificat signataire défectueux", "defective signer certificate"),
    "rcls.from-mismatch": ("From: ≠ signataire", "From: ≠ signer"),
    "rcls.partial-signature": ("signature partielle", "partial signature"),
    "rcls.stripped-signature": ("signature retirée", "stripped signature"),
    "rcls.encrypt-malleability": ("malléabilité du chiffrement", "encryption malleability"),
    "rcls.not-for-me": ("pas pour moi", "not for me"),
    "rcls.downgrade": ("dégradation d'algorithme", "algorithm downgrade"),
    # a product's profile as its sheet shows it: one label per field of send/receive
    # (keys "field.<section>.<path>") and per enum value that is a word ("value.<v>", or
    # "value.<field>.<v>" where the same word reads differently); algorithm, encoding and
    # attribute names are identifiers, shown as they are (in <code>).
    "field.send.format": ("Format des messages", "Message format"),
    "field.send.functions": ("Fonctions envoyées", "Functions sent"),
    "field.send.apicrypt_functions": (
        "Fonctions envoyées aussi au format Apicrypt",
        "Functions also sent in the Apicrypt format",
    ),
    "field.send.order": (
        "Ordre de la signature et du chiffrement",
        "Order of signing and encrypting",
    ),
    "field.send.signature.format": ("Structure de la signature", "Signature structure"),
    "field.send.signature.digest": ("Condensat de la signature", "Signature digest"),
    "field.send.signature.algorithm": ("Algorithme de signature", "Signature algorithm"),
    "field.send.signature.certificates": (
        "Certificats joints à la signature",
        "Certificates in the signature",
    ),
    "field.send.signature.signed_attributes": ("Attributs signés", "Signed attributes"),
    "field.send.signature.signer_identifier": ("Désignation du signataire", "Signer identifier"),
    "field.send.encryption.content": ("Chiffrement du contenu", "Content cipher"),
    "field.send.encryption.key_transport": ("Transport de la clé", "Key transport"),
    "field.send.encryption.recipient_identifier": (
        "Désignation des destinataires",
        "Recipient identifier",
    ),
    "field.send.encryption.encrypt_to_self": (
        "Chiffre aussi pour l'expéditeur",
        "Also encrypts to the sender",
    ),
    "field.send.mime.media_types": ("Types de média S/MIME", "S/MIME media types"),
    "field.send.mime.cms_transfer_encoding": (
        "Encodage de transfert des parties CMS",
        "Transfer encoding of the CMS parts",
    ),
    "field.send.mime.content_encoding": ("Encodage des parties texte", "Encoding of text parts"),
    "field.send.mime.charset": ("Jeu de caractères", "Character set"),
    "field.send.mime.name_parameters": (
        "Noms smime.p7m et smime.p7s sur les parties CMS",
        "Names smime.p7m and smime.p7s on the CMS parts",
    ),
    "field.receive.functions": ("Fonctions reçues", "Functions received"),
    "field.receive.reads_hprim_net": ("Lit HPRIM-Net", "Reads HPRIM-Net"),
    "field.receive.smime.ciphers": (
        "S/MIME : chiffrements du contenu acceptés",
        "S/MIME: content ciphers accepted",
    ),
    "field.receive.smime.key_transports": (
        "S/MIME : transports de clé acceptés",
        "S/MIME: key transports accepted",
    ),
    "field.receive.smime.digests": ("S/MIME : condensats acceptés", "S/MIME: digests accepted"),
    "field.receive.smime.signature_algorithms": (
        "S/MIME : algorithmes de signature acceptés",
        "S/MIME: signature algorithms accepted",
    ),
    "field.receive.smime.formats": (
        "S/MIME : structures de signature lues",
        "S/MIME: signature structures read",
    ),
    "field.receive.smime.media_types": (
        "S/MIME : types de média lus",
        "S/MIME: media types read",
    ),
    "field.receive.smime.require_signature": (
        "S/MIME : exige une signature",
        "S/MIME: requires a signature",
    ),
    "field.receive.smime.require_encryption": (
        "S/MIME : exige le chiffrement",
        "S/MIME: requires encryption",
    ),
    "field.receive.smime.require_chain": (
        "S/MIME : exige une chaîne jusqu'à l'autorité de santé",
        "S/MIME: requires a chain to the health authority",
    ),
    "field.receive.smime.check_revocation": (
        "S/MIME : vérifie la révocation (LCR)",
        "S/MIME: checks revocation (CRLs)",
    ),
    "field.receive.smime.check_sender_address": (
        "S/MIME : vérifie que l'auteur est le signataire",
        "S/MIME: checks that the author is the signer",
    ),
    "field.receive.smime.check_validity": (
        "S/MIME : vérifie la période de validité du certificat",
        "S/MIME: checks the certificate's validity period",
    ),
    "field.receive.smime.check_key_usage": (
        "S/MIME : vérifie l'usage de la clé du certificat",
        "S/MIME: checks the certificate's key usage",
    ),
    "field.send.recipient_certificate": (
        "Trouve le certificat du destinataire",
        "Finds the recipient's certificate",
    ),
    "field.receive.directory_fetches": (
        "Cherche dans l'annuaire CPS",
        "Fetches from the CPS directory",
    ),
    "field.receive.apicrypt.reads": ("Apicrypt : lecture", "Apicrypt: reading"),
    "field.receive.apicrypt.holds_key": (
        "Apicrypt : détient une clé Apicrypt",
        "Apicrypt: holds an Apicrypt key",
    ),
    "field.receive.apicrypt.require_signature": (
        "Apicrypt : exige la signature Apicrypt",
        "Apicrypt: requires the Apicrypt signature",
    ),
    "value.empty": ("aucune", "none"),
    "value.directory": ("dans l'annuaire CPS (LDAP)", "in the CPS directory (LDAP)"),
    # an Apicrypt sender looks its recipients up in its network's own directory
    "value.apicrypt.recipient_certificate.directory": (
        "dans l'annuaire Apicrypt",
        "in the Apicrypt directory",
    ),
    "value.prior-message": (
        "dans un message signé reçu auparavant",
        "in a signed message received earlier",
    ),
    "value.manual": ("importé à la main", "imported by hand"),
    "value.crls": ("les LCR", "the CRLs"),
    "value.signers": ("les certificats des signataires", "the signers' certificates"),
    "value.smime": ("S/MIME", "S/MIME"),
    "value.apicrypt": ("Apicrypt (modèle du projet)", "Apicrypt (the project's model)"),
    # a sent message with no S/MIME layer, not in the Apicrypt model either (Cell.sent)
    "value.plain": ("ni S/MIME ni Apicrypt", "neither S/MIME nor Apicrypt"),
    "value.sign-then-encrypt": ("signer puis chiffrer", "sign, then encrypt"),
    "value.encrypt-then-sign": ("chiffrer puis signer", "encrypt, then sign"),
    "value.triple-wrap": ("signer, chiffrer, signer", "sign, encrypt, sign"),
    "value.multipart-signed": ("multipart/signed (détachée)", "multipart/signed (detached)"),
    "value.opaque": ("signed-data opaque", "opaque signed-data"),
    "value.certificates.none": ("aucun", "none"),
    "value.signer": ("celui du signataire", "the signer's"),
    "value.chain": ("la chaîne complète", "the whole chain"),
    "value.issuer-serial": ("émetteur et numéro de série", "issuer and serial number"),
    "value.ski": ("identifiant de clé (SKI)", "subject key identifier (SKI)"),
    "value.modern": ("modernes (application/pkcs7-*)", "modern (application/pkcs7-*)"),
    "value.legacy": ("anciens (application/x-pkcs7-*)", "legacy (application/x-pkcs7-*)"),
    "value.keep": ("inchangées", "unchanged"),
    "value.reads.none": ("aucune", "none"),
    "value.envelope-only": (
        "enveloppe seulement (déchiffre, ne vérifie pas la signature Apicrypt)",
        "envelope only (decrypts, cannot check the Apicrypt signature)",
    ),
    "value.reads.full": ("complète", "full"),
    "kind.client": ("client de messagerie", "mail client"),
    "kind.webmail": ("messagerie en ligne (webmail)", "webmail"),
    "kind.relay-client": (
        "client relais (à côté du client de messagerie)",
        "relay client (beside the mail client)",
    ),
    "kind.reference-engine": ("moteur S/MIME de référence", "reference S/MIME engine"),
    "kind.builtin": ("agent du projet", "the project's agent"),
    # the practice software table's status column (profiles/practice-software.yaml)
    "pstatus.planned": ("prévue", "planned"),
    "pstatus.developed-homologation-pending": (
        "développée, homologation en cours",
        "developed, homologation pending",
    ),
    "pstatus.marketed": ("commercialisée", "marketed"),
    "pstatus.in-development": ("en développement", "in development"),
    "pstatus.no": ("non", "no"),
    # what the receiver said: the status codes of the agent contract (conformance/status.py)
    "errcode.no-signature": ("pas de signature", "no signature"),
    "errcode.bad-signature": ("signature invalide", "bad signature"),
    "errcode.untrusted-signer": ("signataire sans chaîne de confiance", "untrusted signer"),
    "errcode.revoked-signer": ("certificat du signataire révoqué", "revoked signer certificate"),
    "errcode.signer-mismatch": ("l'auteur n'est pas le signataire", "the author is not the signer"),
    "errcode.cannot-decrypt": ("ne peut pas déchiffrer", "cannot decrypt"),
    "errcode.not-encrypted": ("message non chiffré", "message not encrypted"),
    "errcode.unsupported-algorithm": ("algorithme non accepté", "algorithm not accepted"),
    "errcode.unsupported-format": ("format non lu", "format not read"),
    "errcode.unsupported-function": ("fonction non prise en charge", "function not supported"),
    "errcode.malformed": ("message mal formé", "malformed message"),
    "errcode.too-large": ("message trop volumineux", "message too large"),
    "errcode.no-recipient-certificate": (
        "aucun certificat pour le destinataire",
        "no certificate for the recipient",
    ),
    "errcode.internal": ("erreur interne de l'agent", "the agent's internal error"),
    "said.words": ("ses mots : {words}", "its words: {words}"),
    "said.suite_words": ("motif de la suite : {words}", "the suite's reason: {words}"),
    "said.delivered": ("délivré", "delivered"),
    "said.not_sent": ("{agent} n'envoie pas cette fonction", "{agent} does not send this function"),
    "said.not_received": (
        "{agent} ne reçoit pas cette fonction",
        "{agent} does not receive this function",
    ),
    "said.harness": ("le banc de test a échoué", "the harness broke"),
    "said.sender_refused": (
        "{agent} n'a pas envoyé le message",
        "{agent} did not send the message",
    ),
    "said.not_repeated": (
        "ne s'est pas reproduit quand le même exemple a été rejoué",
        "it did not happen again when the same example was replayed",
    ),
    "said.not_observed": (
        "non observé ici (rien des produits n'a été mesuré)",
        "not observed here (nothing of the products was measured)",
    ),
    # why a cell was not observed (Cell.not_observed.kind), the suite's reason
    "not_observed.engine-missing": (
        "{agent} : moteur non installé ou non construit ici",
        "{agent}: engine not installed or not built here",
    ),
    "not_observed.hop-missing": (
        "l'étape {hop} de la route ne peut pas tourner ici",
        "the route's hop {hop} cannot run here",
    ),
    "not_observed.store-missing": (
        "la boîte aux lettres de la suite (Dovecot), au bout de chaque route, ne peut pas "
        "tourner ici",
        "the suite's mailbox (Dovecot), at the end of every route, cannot run here",
    ),
    "not_observed.directory-missing": (
        "l'annuaire CPS de la suite (slapd) ne peut pas tourner ici",
        "the suite's CPS directory (slapd) cannot run here",
    ),
    "not_observed.route-size-limit": (
        "le message ({size} octets) dépasse la taille maximale fixée sur les relais de la "
        "suite (--max-message-bytes {limit}) : une limite du testeur, pas d'un produit",
        "the message ({size} bytes) is over the size limit set on the suite's own relays "
        "(--max-message-bytes {limit}): the tester's limit, not a product's",
    ),
    "not_observed.suite-lookup-failed": (
        "la recherche faite par la suite dans l'annuaire pour {agent} a échoué : "
        "l'échec de la suite, pas de l'expéditeur",
        "the suite's directory lookup on behalf of {agent} failed: the suite's failure, "
        "not the sender's",
    ),
    "said.other": ("autre motif", "another reason"),
    "said.not_held": (
        "délivré sans ces services promis : {services}",
        "delivered without these promised services: {services}",
    ),
    "said.delivered_services": (
        "délivré, services : {services}",
        "delivered, services: {services}",
    ),
    "expect.refuse": ("refuser le message", "refuse the message"),
    "expect.warn": (
        "le refuser ou le délivrer (la politique le tolère)",
        "refuse it or deliver it (the policy tolerates it)",
    ),
    "expect.withhold": ("le délivrer sans {service}", "deliver it without {service}"),
    # what the basic message really used (Cell.sent), read from it
    "sent.signature_format": ("structure", "structure"),
    "sent.digest": ("condensat", "digest"),
    "sent.signature": ("signature", "signature"),
    "sent.content_cipher": ("chiffrement", "cipher"),
    "sent.key_transport": ("transport de clé", "key transport"),
    "sent.nothing": ("aucun algorithme lu dans le message", "no algorithm read in the message"),
    "sent.no_message": ("aucun message", "no message"),
    # the validator's findings on the basic message
    "severity.ERROR": ("ERREUR", "ERROR"),
    "severity.WARNING": ("AVERTISSEMENT", "WARNING"),
    "severity.INFO": ("INFO", "INFO"),
    "checks.clean": (
        "aucune erreur ni aucun avertissement ({count} contrôles réussis)",
        "no error and no warning ({count} checks passed)",
    ),
    "checks.unreadable": ("rapport du validateur illisible", "validator report unreadable"),
    "checks.full": ("rapport complet du validateur", "the validator's full report"),
    "detail.sent": ("Envoyé", "Sent"),
    "detail.suite_lookup": ("Certificat du destinataire", "Recipient's certificate"),
    "detail.suite_lookup_text": (
        "cherché dans l'annuaire par la suite pour le compte de {sender} ({why}) : le verdict "
        "mesure son chiffrement et la lecture, pas une recherche de sa part",
        "looked up in the directory by the suite on behalf of {sender} ({why}): the verdict "
        "measures its encryption and the reading, not a lookup of its own",
    ),
    "detail.suite_lookup_found": (
        "{mail} trouvé dans {url} : {dn}, certificat de chiffrement de numéro de série {serial}",
        "{mail} found in {url}: {dn}, encryption certificate serial {serial}",
    ),
    "detail.suite_lookup_failed": (
        "la recherche faite dans l'annuaire par la suite pour le compte de {sender} ({why}) a "
        "échoué ({kind}) : rien d'aucun des deux produits n'a été mesuré, ni chiffrement ni "
        "lecture",
        "the suite's lookup in the directory on behalf of {sender} ({why}) failed ({kind}): "
        "nothing of either product was measured, neither encryption nor reading",
    ),
    # results.SuiteLookup.why: why the suite looked up for a tool
    "lookup.why.no-directory-client": ("sans client d'annuaire", "no directory client"),
    "lookup.why.no-dirmngr": ("dirmngr n'est pas installé ici", "dirmngr is not installed here"),
    # results.SuiteLookup.failure (conformance.directory.lookup.FailureKind)
    "lookup_failure.absent": ("aucune entrée pour l'adresse", "no entry for the address"),
    "lookup_failure.no-encryption-certificate": (
        "l'entrée ne publie aucun certificat de chiffrement",
        "the entry publishes no encryption certificate",
    ),
    "lookup_failure.expired": (
        "tout certificat de chiffrement hors de sa période de validité",
        "every encryption certificate outside its validity",
    ),
    "lookup_failure.revoked": (
        "tous les certificats de chiffrement valides sont révoqués",
        "every valid encryption certificate revoked",
    ),
    "lookup_failure.untrusted": (
        "aucun certificat de chiffrement émis par une AC de l'annuaire",
        "no encryption certificate issued by a CA of the directory",
    ),
    "lookup_failure.other-address": (
        "les certificats de chiffrement ne nomment que d'autres adresses",
        "the encryption certificates name other addresses only",
    ),
    "lookup_failure.ambiguous": (
        "plusieurs entrées pour l'adresse",
        "several entries for the address",
    ),
    "lookup_failure.unreachable": (
        "rien ne répond à l'adresse de l'annuaire",
        "nothing answers at the directory's address",
    ),
    "lookup_failure.timeout": (
        "l'annuaire n'a pas répondu à temps",
        "the directory did not answer in time",
    ),
    "lookup_failure.bad-url": (
        "adresse d'annuaire invalide",
        "not an ldap://HOST:PORT/BASE address",
    ),
    "detail.said": ("Réponse du destinataire", "What the receiver said"),
    # Cell.failed_at: the side a basic example stopped at, when not the receiver
    "detail.said.sender": ("Réponse de l'émetteur", "What the sender said"),
    "detail.said.route": ("Réponse de la route", "What the route said"),
    "detail.validator": ("Validateur", "Validator"),
    # the chooser's page, "Choisir pour mon cabinet" (osm-conformance choose, docs/choose.md)
    "title.choose": ("Choisir pour mon cabinet", "Choosing for my practice"),
    "choose.intro": (
        "Les outils classés pour ce cabinet, le meilleur d'abord, d'après les critères du "
        "document source (« Comment choisir ? », juillet 2008) et l'interopérabilité de la "
        "matrice avec vos propres correspondants. Chaque outil dit pourquoi.",
        "The tools ranked for this practice, best first, by the source document's criteria "
        '("Comment choisir ?", July 2008) and the matrix\'s interoperability with your own '
        "correspondents. Each tool says why.",
    ),
    "choose.practice": ("Le cabinet", "The practice"),
    "choose.software": ("Logiciel de cabinet", "Practice software"),
    "choose.software_none": ("aucun", "none"),
    "choose.platform": ("Poste", "Workstation"),
    "choose.sites": ("Exercice", "Practice"),
    "choose.sites.single": ("mono-site", "single site"),
    "choose.sites.multi": ("multi-sites", "several sites"),
    "choose.workstation": ("{ram} Mo de RAM, {disk} Mo de disque", "{ram} MB RAM, {disk} MB disk"),
    "choose.unknown": ("?", "?"),
    "choose.correspondents": ("Correspondants", "Correspondents"),
    "choose.correspondent": ("{count} × {tool}", "{count} × {tool}"),
    "choose.hprim": ("HPRIM-Net", "HPRIM-Net"),
    "choose.none": ("aucun", "none"),
    "choose.rank": ("Rang", "Rank"),
    "choose.tool": ("Outil", "Tool"),
    "choose.reached": ("Correspondants joints", "Correspondents reached"),
    "choose.reasons": ("Pourquoi", "Why"),
    "choose.excluded": ("exclu", "excluded"),
    "choose.order": (
        "Classement : non exclu d'abord, puis {criteria}, puis l'ordre du tableau comparatif.",
        "Ranking: not excluded first, then {criteria}, then the comparison table's order.",
    ),
    "choose.assumed": ("supposé : {reason}", "assumed: {reason}"),
    "choose.cost": ("Le coût n'est pas un critère", "Cost is not a criterion"),
    "choose.simulated": ("simulée", "simulated"),
    "choose.submatrix": (
        "la sous-matrice exécutée pour ce cabinet",
        "the sub-matrix run for this practice",
    ),
    "choose.matrix_link": ("Sa matrice, cellule par cellule", "Its matrix, cell by cell"),
    "choose.no_matrix": (
        "aucune cellule (pas de correspondant)",
        "no cell (no correspondent)",
    ),
    "choose.sources": ("Sources des règles", "Sources of the rules"),
    "choose.no_correspondent": (
        "Aucun correspondant : donnez-en pour que l'interopérabilité départage les outils.",
        "No correspondent: give some so that interoperability tells the tools apart.",
    ),
    "choose.measured": ("mesurée", "measured"),
    "choose.measure_note": (
        "« mesurée » : le produit lui-même a tourné (adaptateur, ses propres messages) ; "
        "« simulée » : joué par son profil sur le moteur de la suite.",
        '"measured": the product itself ran (adapter, its own messages); "simulated": '
        "played by its profile on the suite's engine.",
    ),
    "choose.matrix": (
        "Interopérabilité : {functions} dans les deux sens (et hprim-net reçu d'un "
        "correspondant qui en envoie), d'après {results} ; « pas avec X ×n (→ fonction "
        "verdict) » : la première cellule qui ne passe pas, → envoyée par l'outil, ← reçue.",
        "Interoperability: {functions} both ways (and hprim-net received from a "
        'correspondent who sends it), from {results}; "not with X ×n (→ function '
        'verdict)": the first cell that does not pass, → sent by the tool, ← received.',
    ),
    "choose.revocable": (
        "« Ne dramatisez pas: ce choix est révocable et l'outil changé ultérieurement. »",
        "The source: the choice can be revoked and the tool changed later "
        "(« Ne dramatisez pas: ce choix est révocable »).",
    ),
    "crit.interoperability_short": ("interopérabilité", "interoperability"),
    "crit.multi-site": ("multi-sites", "multi-site"),
    "crit.integration": (
        "intégration au logiciel de cabinet",
        "integration in the practice software",
    ),
    "crit.compliance_short": ("conformité", "compliance"),
    "crit.installation": ("facilité d'installation", "ease of installation"),
    "crit.platform": ("plate-forme", "platform"),
    "crit.configuration": ("configuration du poste", "workstation configuration"),
    "effect.excludes": ("exclut", "excludes"),
    "effect.favours": ("favorise", "favours"),
    "effect.warns": ("attention", "warning"),
    "effect.unknown": ("inconnu", "unknown"),
    "choose.why.mac_yes": ("fonctionne sur Macintosh", "runs on the Macintosh"),
    "choose.why.mac_no": ("ne fonctionne pas sur Macintosh", "does not run on the Macintosh"),
    "choose.why.web": (
        "webmail : fonctionne dans le navigateur",
        "webmail: runs in the browser",
    ),
    "choose.why.platform_unknown": (
        "support de {platform} inconnu (non exclu)",
        "support of {platform} unknown (not excluded)",
    ),
    "choose.why.platform_no": ("ne fonctionne pas sous {platform}", "does not run on {platform}"),
    "choose.why.config_no_station": (
        "demande : {text} (poste non renseigné)",
        "needs: {text} (workstation not given)",
    ),
    "choose.why.config_short_ram": (
        "demande {need} Mo de RAM, le poste en a {have} ({text})",
        "needs {need} MB of RAM, the workstation has {have} ({text})",
    ),
    "choose.why.config_short_disk": (
        "demande {need} Mo de disque, le poste en a {have} ({text})",
        "needs {need} MB of disk, the workstation has {have} ({text})",
    ),
    "choose.why.config_ok": ("le poste suffit ({text})", "the workstation suffices ({text})"),
    "choose.why.interop_none_given": (
        "aucun correspondant donné : ce critère ne départage pas",
        "no correspondent given: this criterion decides nothing",
    ),
    "choose.why.interop_share": (
        "échange avec {reached} correspondants sur {total} ({percent} %)",
        "exchanges with {reached} of {total} correspondents ({percent}%)",
    ),
    "choose.why.interop_share_but": (
        "échange avec {reached} correspondants sur {total} ({percent} %), pas avec {groups}",
        "exchanges with {reached} of {total} correspondents ({percent}%), not with {groups}",
    ),
    "choose.why.interop_missing": (
        "cellules absentes des résultats pour : {tools}",
        "cells missing from the results for: {tools}",
    ),
    "choose.why.multi_site_yes": (
        "webmail, pour un cabinet multi-sites",
        "a webmail, for a multi-site practice",
    ),
    "choose.why.multi_site_no": (
        "pas un webmail, pour un cabinet multi-sites",
        "not a webmail, for a multi-site practice",
    ),
    "choose.why.same_for_all": (
        "avec {software}, même facilité d'import/export quel que soit l'outil",
        "with {software}, importing and exporting is the same whatever the tool",
    ),
    "choose.why.integrated": ("intégré à {software}", "integrated in {software}"),
    "choose.why.general_integrated": (
        "intégré aux LGC en général (tableau comparatif)",
        "integrated in practice software in general (comparison table)",
    ),
    "choose.why.general_both": (
        "relais et intégré aux LGC (tableau comparatif)",
        "relay and integrated in practice software (comparison table)",
    ),
    "choose.why.general_relay": (
        "relais seulement (tableau comparatif)",
        "relay only (comparison table)",
    ),
    "choose.why.general_none": ("aucune intégration", "no integration"),
    "choose.why.general_unknown": ("intégration inconnue", "integration unknown"),
    "choose.why.compliance_unknown": ("conformité inconnue", "compliance unknown"),
    "choose.why.compliance_yes-but": (
        "conformité « Oui mais » : « {words} »",
        'compliance "Oui mais" (yes, but): “{words}”',
    ),
    "choose.why.compliance_no": ("non conforme : « {words} »", "not compliant: “{words}”"),
    "choose.why.installation": ("installation {ease}", "installation {ease}"),
    # the gateways page (a run over SMTP with --via)
    "title.gateways": (
        "Passerelles : les messages survivent-ils à la route ?",
        "Gateways: do the messages survive the road?",
    ),
    "gw.intro": (
        "Chaque cellule a été rejouée en SMTP réel sur la boucle locale, par la route simple "
        "(aucun relais qui réécrit) puis à travers chaque passerelle. Un message survit à une "
        "passerelle quand une cellule réussie par la route simple réussit aussi à travers "
        "elle : mêmes expéditeur, destinataire, fonction et exemples, seule la passerelle "
        "change. Par produit expéditeur et fonction, les destinataires comparés sont ceux "
        "dont la cellule de la route simple est réussie.",
        "Each cell was run again over real SMTP on loopback, on the plain route (no relay "
        "that rewrites) and through each gateway. A message survives a gateway when a cell "
        "that passes on the plain route passes through it too: same sender, receiver, "
        "function and examples, the gateway the only difference. Per sending product and "
        "function, the receivers compared are those whose plain-route cell passed.",
    ),
    "gw.delivery": ("Remise", "Delivery"),
    "gw.delivery.imap": (
        "lue par IMAP sur un vrai serveur Dovecot démarré par la suite",
        "read over IMAP from a real Dovecot server the suite started",
    ),
    "gw.delivery.maildir": (
        "déposée dans un maildir et lue comme fichiers",
        "delivered to a maildir and read as files",
    ),
    "gw.plain": ("Route simple", "Plain route"),
    "gw.plain_help": (
        "SMTP sur la boucle locale sans passerelle : la route à laquelle chaque passerelle est "
        "comparée (la matrice et les revendications publiées portent sur elle)",
        "SMTP on loopback without a gateway: the route every gateway is compared with (the "
        "matrix and the published claims are about it)",
    ),
    "gw.hops": ("Passerelles", "Gateways"),
    "gw.simulated": ("simulation", "simulation"),
    "gw.simulated_help": (
        "la suite simule ce comportement d'une vraie passerelle (sa réécriture documentée)",
        "the suite simulates this behaviour of a real gateway (its documented rewrite)",
    ),
    "gw.real": ("logiciel réel (version {version})", "real software (version {version})"),
    "gw.corner": ("Expéditeur · fonction ↓ · Passerelle →", "Sender · function ↓ · Gateway →"),
    "gw.broken": (
        "vers {receiver} : réussie par la route simple, {verdict} à travers la passerelle",
        "to {receiver}: passes on the plain route, {verdict} through the gateway",
    ),
    "gw.no_variants": (
        "Exécution en SMTP sans passerelle (--via) : rien à comparer.",
        "Run over SMTP without a gateway (--via): nothing to compare.",
    ),
    "gw.none": (
        "Cette exécution n'a pas utilisé le transport SMTP (run --transport smtp --via ...).",
        "This run did not use the SMTP transport (run --transport smtp --via ...).",
    ),
    "gw_help.survives": (
        "survit : chaque cellule réussie par la route simple réussit à travers la passerelle",
        "survives: every cell that passes on the plain route passes through the gateway",
    ),
    "gw_help.partly": (
        "survit en partie : certains destinataires seulement",
        "partly: for some receivers only",
    ),
    "gw_help.breaks": (
        "ne survit pas : aucune cellule réussie par la route simple ne réussit à travers elle",
        "breaks: no cell that passes on the plain route passes through it",
    ),
    "gw_help.not-compared": (
        "non comparé : aucune cellule réussie par la route simple",
        "not compared: no cell passes on the plain route",
    ),
    "gw_help.not-run": (
        "non exécuté : la passerelle n'a pas pu tourner ici (logiciel absent, ou qui n'a pas "
        "démarré), ou rien des produits n'a été observé",
        "not run: the gateway could not run here (software missing, or it did not start), or "
        "nothing of the products was observed",
    ),
    "gw_help.error": (
        "erreur du banc de test, jamais la faute d'un produit",
        "harness error, never a product's fault",
    ),
    # sources, cited by title in the page's language
    "src.quote": ("{title} : « {quote} »", "{title}: “{quote}”"),
    "src.profile": ("profil de {agent} : {field}", "profile of {agent}: {field}"),
}


class Translator:
    """Looks strings up in the catalogue for one language."""

    def __init__(self, lang: str = DEFAULT_LANGUAGE) -> None:
        if lang not in LANGUAGES:
            raise UserError(f"--lang: {lang!r} is not one of {', '.join(LANGUAGES)}")
        self.lang = lang
        self._index = LANGUAGES.index(lang)

    def __call__(self, key: str, **params: object) -> str:
        text = CATALOGUE[key][self._index]  # a missing key is a bug: let it raise
        return text.format(**params) if params else text

    def number(self, value: float, digits: int = 0) -> str:
        """`value` with `digits` decimals as the page's language writes it: « 177,3 » in
        French, "177.3" in English (the pages' one number format: the `number` filter)."""
        text = f"{value:.{digits}f}"
        return text.replace(".", ",") if self.lang == "fr" else text

    def has(self, key: str) -> bool:
        return key in CATALOGUE

    def label(self, prefix: str, value: object) -> str:
        """The translation of a known value, or the value itself."""
        key = f"{prefix}.{value}"
        return self(key) if key in CATALOGUE else str(value)
