// The merchant dashboard's one script: signing in with the wallet, and copy buttons. Everything
// else is server-rendered pages and plain forms.
import { startCopyButtons } from "./copy";
import { startSignIn } from "./signin";

startSignIn();
startCopyButtons();
