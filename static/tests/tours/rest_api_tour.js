/** @odoo-module **/
/*
 * The admin screens, end to end (tests/test_ui.py): create a key through the
 * REST API menu, read its secret from the "shown once" dialog and call the API
 * with it; then issue a login token from the REST API tab of a user and call
 * the API with key + token. "rest_api_screenshot:<name>" asks the test for a
 * screenshot; the test marks <body> when the image is saved.
 */
import { registry } from "@web/core/registry";

const KEY_NAME = "Tour key";
const state = { key: null, token: null };

function screenshot(name) {
    return [
        {
            content: `screenshot ${name}`,
            trigger: "body",
            run() {
                console.log(`rest_api_screenshot:${name}`);
            },
        },
        {
            content: `wait until the screenshot ${name} is saved`,
            trigger: `body[data-rest-api-screenshot="${name}"]`,
        },
    ];
}

async function callApi(path, headers, init = {}) {
    const response = await fetch(path, { credentials: "omit", ...init, headers });
    return { status: response.status, body: await response.text() };
}

function expectStatus(answer, status, what) {
    if (answer.status !== status) {
        throw new Error(`${what}: expected ${status}, got ${answer.status}: ${answer.body}`);
    }
}

function secretShown() {
    const field = document.querySelector(".modal .o_rest_api_secret span");
    const secret = field && field.textContent.trim();
    if (!secret) {
        throw new Error("no secret in the dialog");
    }
    return secret;
}

registry.category("web_tour.tours").add("rest_api_admin_tour", {
    url: "/odoo/settings",
    steps: () => [
        {
            content: "the REST API block of the settings links to Swagger UI",
            trigger: "#rest_api_docs_setting button:contains(Swagger UI)",
            run() {
                const block = this.anchor.closest(".o_settings_container");
                (block.previousElementSibling || block).scrollIntoView();
            },
        },
        ...screenshot("settings"),
        {
            content: "open the REST API menu",
            trigger: 'button[data-menu-xmlid="rest_api.menu_rest_api"]',
            run: "click",
        },
        {
            content: "open API keys",
            trigger: 'a[data-menu-xmlid="rest_api.menu_rest_api_key"]',
            run: "click",
        },
        { content: "new key", trigger: ".o_list_button_add", run: "click" },
        { content: "name it", trigger: ".o_field_widget[name=name] input", run: `edit ${KEY_NAME}` },
        {
            content: "limit it to some models",
            trigger: ".o_field_widget[name=all_models] input",
            run: "click",
        },
        {
            content: "add a scope line",
            trigger: ".o_field_widget[name=scope_ids] .o_field_x2many_list_row_add a",
            run: "click",
        },
        { content: "pick Contact", trigger: ".o_field_widget[name=model_id] input", run: "edit res.partner" },
        { content: "choose it", trigger: ".o-autocomplete--dropdown-item a:contains(Contact)", run: "click" },
        {
            content: "allow create",
            trigger: ".o_data_row .o_field_widget[name=perm_create] input",
            run: "click",
        },
        { content: "save", trigger: ".o_form_button_save", run: "click" },
        { content: "saved", trigger: ".o_form_saved" },
        ...screenshot("key_form"),
        { content: "generate the key", trigger: "button[name=action_generate_key]", run: "click" },
        {
            content: "the secret is shown once",
            trigger: ".modal .o_rest_api_secret span:contains(odoorest_)",
        },
        { content: "with a copy button", trigger: ".modal .o_rest_api_secret .o_clipboard_button" },
        { content: "and a warning", trigger: ".modal .alert-warning:contains(cannot be shown again)" },
        ...screenshot("generate_key"),
        {
            content: "call the API with the secret read from the dialog",
            trigger: ".modal .o_rest_api_secret span:contains(odoorest_)",
            async run() {
                state.key = secretShown();
                const headers = { "api-key": state.key, "Content-Type": "application/json" };
                const created = await callApi("/api/res.partner/create", headers, {
                    method: "POST",
                    body: JSON.stringify({ name: "Created by the admin tour" }),
                });
                expectStatus(created, 201, "create a partner with the new key");
                const outside = await callApi("/api/res.users/search", headers);
                expectStatus(outside, 403, "a model outside the key's scopes");
            },
        },
        { content: "done", trigger: ".modal button:contains(Done)", run: "click" },
        {
            content: "the key is active",
            trigger: ".o_statusbar_status button.o_arrow_button_current:contains(Active)",
        },
        { content: "the secret is gone", trigger: "body:not(:has(.o_rest_api_secret))" },
        // ---------------------------------------------------------- the user tab
        { content: "open users", trigger: 'button[data-menu-xmlid="base.menu_users"]', run: "click" },
        { content: "users list", trigger: 'a[data-menu-xmlid="base.menu_action_res_users"]', run: "click" },
        { content: "open the admin", trigger: ".o_data_row td[name=login]:contains(admin)", run: "click" },
        { content: "REST API tab", trigger: "a[role=tab]:contains(REST API)", run: "click" },
        {
            content: "lists the key",
            trigger: `.o_field_widget[name=rest_api_key_ids] td:contains(${KEY_NAME})`,
        },
        ...screenshot("user_tab"),
        { content: "issue a token", trigger: "button[name=action_rest_api_issue_token]", run: "click" },
        {
            content: "pick the key",
            trigger: ".modal .o_field_widget[name=key_id] input",
            run: `edit ${KEY_NAME}`,
        },
        {
            content: "choose it",
            trigger: `.o-autocomplete--dropdown-item a:contains(${KEY_NAME})`,
            run: "click",
        },
        { content: "issue", trigger: ".modal button[name=action_issue]", run: "click" },
        { content: "the token is shown once", trigger: ".modal .o_rest_api_secret span:contains(eyJ)" },
        ...screenshot("user_token"),
        {
            content: "call the API with the key and the token",
            trigger: ".modal .o_rest_api_secret span:contains(eyJ)",
            async run() {
                state.token = secretShown();
                const answer = await callApi("/api/res.partner/search?fields=name&limit=1", {
                    "api-key": state.key,
                    token: state.token,
                });
                expectStatus(answer, 200, "search with key and token");
                const alone = await callApi("/api/res.partner/search?limit=1", { token: state.token });
                expectStatus(alone, 401, "the token without its key");
            },
        },
        { content: "done", trigger: ".modal button:contains(Done)", run: "click" },
        {
            content: "the tab lists the token",
            trigger: ".o_field_widget[name=rest_api_token_ids] .o_data_row",
        },
    ],
});

// A REST API user (not an administrator) manages their own keys from their preferences.
registry.category("web_tour.tours").add("rest_api_user_tour", {
    url: "/odoo",
    steps: () => [
        { content: "open the user menu", trigger: ".o_user_menu .dropdown-toggle", run: "click" },
        { content: "open the preferences", trigger: "[data-menu=settings]", run: "click" },
        { content: "REST API tab", trigger: ".modal a[role=tab]:contains(REST API)", run: "click" },
        { content: "my keys", trigger: ".modal button:contains(My API keys)", run: "click" },
        { content: "only my key is listed", trigger: ".o_list_view .o_data_row:contains(Alice key)" },
        { content: "not bob's", trigger: ".o_list_view:not(:has(.o_data_row:contains(Bob key)))" },
        { content: "new key", trigger: ".o_list_button_add", run: "click" },
        { content: "name it", trigger: ".o_field_widget[name=name] input", run: "edit Alice app" },
        { content: "generate the key", trigger: "button[name=action_generate_key]", run: "click" },
        {
            content: "use the secret shown once",
            trigger: ".modal .o_rest_api_secret span:contains(odoorest_)",
            async run() {
                const answer = await callApi("/api/res.partner/search?fields=name&limit=1", {
                    "api-key": secretShown(),
                });
                expectStatus(answer, 200, "search with the user's new key");
            },
        },
        { content: "done", trigger: ".modal button:contains(Done)", run: "click" },
        {
            content: "the key is active",
            trigger: ".o_statusbar_status button.o_arrow_button_current:contains(Active)",
        },
    ],
});
