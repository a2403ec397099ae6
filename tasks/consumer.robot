*** Settings ***
Documentation       Consumer: prepares each queued application for decision.
...                 Reads the application, every agency register and the reference frame, applies
...                 RULES.md, pastes the report into the case-management system and, in automated
...                 mode, decides standard re-applications. System errors are retried with back-off,
...                 then handed back to the work queue, which tries again later or parks the item.

Library             bistand.run.library.RunLibrary

Suite Setup         Start Run    consumer
Suite Teardown      Finish Run


*** Variables ***
${ITEMS_LIMIT}      0


*** Tasks ***
Prepare Applications For Decision
    [Documentation]    Logs in once; each work item then runs as a task of its own, named by its
    ...    application id, with its outcome as the task's message (DONE, BUSINESS, APPLICATION, PARKED).
    Log In To All Systems
    Add Task For Next Work Item    ${ITEMS_LIMIT}


*** Keywords ***
Prepare One Application
    [Documentation]    Tries the item until it is done, fails on bad data, or runs out of tries.
    ${work}=    Start Work On Application
    IF    $work is None
        Release Input Work Item    DONE
        RETURN
    END
    ${attempts}=    Attempts Per Item
    FOR    ${attempt}    IN RANGE    1    ${attempts} + 1
        ${finished}=    Try To Prepare Application    ${work}    ${attempt}    ${attempts}
        IF    ${finished}    RETURN
        Back Off Before Retry    ${attempt}
    END

Try To Prepare Application
    [Documentation]    One try. Returns True when the item is released (done or failed for good).
    [Arguments]    ${work}    ${attempt}    ${attempts}
    TRY
        Start Attempt    ${work}    ${attempt}
        Prepare Application For Decision    ${work}
        End Attempt    ${work}
        Release Input Work Item    DONE
        Finish Item    ${work}    DONE    attempts=${attempt}
    EXCEPT    BusinessError:*    type=GLOB    AS    ${message}
        Fail Item For Bad Data    ${work}    ${message}    ${attempt}
    EXCEPT    LeaseLost:*    type=GLOB
        Let Go Of Item Another Runner Holds    ${work}
    EXCEPT    AS    ${message}
        ${released}=    Handle System Error    ${work}    ${message}    ${attempt}    ${attempts}
        RETURN    ${released}
    END
    RETURN    ${True}

Fail Item For Bad Data
    [Documentation]    Bad data that a retry cannot fix: FAILED with BUSINESS and the error's code.
    [Arguments]    ${work}    ${message}    ${attempt}
    End Attempt    ${work}
    ${safe}=    Safe Error Message    ${message}
    ${code}=    Error Code Of    ${safe}
    Release Input Work Item    FAILED    exception_type=BUSINESS    code=${code}    message=${safe}
    Finish Item    ${work}    BUSINESS    ${safe}    attempts=${attempt}

Let Go Of Item Another Runner Holds
    [Documentation]    This runner's lease ran out and another runner took the item over: stop
    ...    before the next write and go on with the other items. The release changes nothing in
    ...    the queue (the lease is not this runner's); it only ends the work item here.
    [Arguments]    ${work}
    End Attempt    ${work}
    Release Input Work Item    FAILED    exception_type=APPLICATION    code=LEASE_LOST
    ...    message=Another runner holds the item
    Stop Work On Item Whose Lease Was Lost    ${work}

Handle System Error
    [Documentation]    Saves blurred screenshots and traces; on the last try FAILED with APPLICATION
    ...    (the queue reschedules the item or parks it). A configuration gap (no norm table
    ...    for the period) is released at once: the queue parks it, the run goes on.
    ...    Returns True when the item was released.
    [Arguments]    ${work}    ${message}    ${attempt}    ${attempts}
    ${safe}=    Safe Error Message    ${message}
    ${code}=    Error Code Of    ${safe}
    ${gap}=    Is Configuration Gap    ${code}
    IF    ${gap}
        End Attempt    ${work}
    ELSE
        Record System Error    ${work}    ${safe}    ${attempt}
        IF    ${attempt} < ${attempts}    RETURN    ${False}
    END
    Release Input Work Item    FAILED    exception_type=APPLICATION    code=${code}    message=${safe}
    Finish Item    ${work}    APPLICATION    ${safe}    attempts=${attempt}
    RETURN    ${True}

Prepare Application For Decision
    [Documentation]    The caseworker's routine, step by step.
    [Arguments]    ${work}
    Read Case From All Systems    ${work}
    Assess Case    ${work}
    Write Report Files    ${work}
    Register Application If Unknown    ${work}
    Write Decision Basis    ${work}
