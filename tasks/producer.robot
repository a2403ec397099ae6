*** Settings ***
Documentation       Producer: queues every new application in the e-service inbox as one work item.
...                 Payload: application id, case number and period only. An application is queued
...                 once; items a crashed run left unfinished are queued again.

Library             bistand.run.library.RunLibrary

Suite Setup         Start Run    producer
Suite Teardown      Finish Run


*** Tasks ***
Queue New Applications
    [Documentation]    One output work item per new application, then mark them in the e-service.
    ${applications}=    Collect Applications To Queue
    FOR    ${application}    IN    @{applications}
        Create Output Work Item    variables=${application.work_item_variables}    save=${True}
    END
    Mark Applications As Queued    ${applications}
