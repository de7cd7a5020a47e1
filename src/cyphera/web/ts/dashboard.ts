// The merchant dashboard's one script: signing in with the wallet, copy buttons, and the phone
// nav's current link in view. Everything else is server-rendered pages and plain forms.
import { startCopyButtons } from "./copy";
import { startNav } from "./nav";
import { startSignIn } from "./signin";

startSignIn();
startCopyButtons();
startNav();
